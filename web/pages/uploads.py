"""Uploaded process files waiting for their owner's confirmation.

Between "check and compare" and "deploy", the files stay on the server (in the instance
folder, under a random name known only to the uploader's page): the confirmation never trusts
files sent back by the browser, and the deployment validates them again.
"""
from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

KEEP_SECONDS = 24 * 3600
_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class Staged:
    token: str
    owner: str
    comment: str
    files: dict[str, bytes]


def _root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def stage(owner: str, comment: str, files: dict[str, bytes]) -> str:
    _sweep()
    token = secrets.token_urlsafe(18)
    folder = _root() / token
    folder.mkdir(parents=True, mode=0o700)
    for name, content in files.items():
        (folder / "files").mkdir(exist_ok=True)
        (folder / "files" / name).write_bytes(content)
    (folder / "meta.json").write_text(json.dumps({"owner": owner, "comment": comment, "files": sorted(files)}))
    return token


def load(token: str, owner: str) -> Staged | None:
    """The files staged under `token` by `owner`; None if absent, expired or someone else's."""
    if not token or set(token) - _TOKEN_CHARS:
        return None
    folder = _root() / token
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("owner") != owner or time.time() - folder.stat().st_mtime > KEEP_SECONDS:
        return None
    files = {name: (folder / "files" / name).read_bytes() for name in meta.get("files", [])}
    return Staged(token, owner, meta.get("comment", ""), files)


def discard(token: str) -> None:
    if token and not set(token) - _TOKEN_CHARS:
        shutil.rmtree(_root() / token, ignore_errors=True)


def _sweep() -> None:
    root = _root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            if time.time() - folder.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
