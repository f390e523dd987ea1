"""A process bundle: the BPMN file and the DMN files of one process, each parsed at most once.

Every question about a set of process files, uploaded or stored, is answered here, so that
validation, deployment, review, the diff and the pages all agree: which file is the BPMN and
which are the DMN tables, which process is the main one, and what that process is called and
documented as. A file's kind comes from the end of its name, in any case (`Approval.BPMN`,
`rules.DMN`). Whether the files are *valid* is for `engine.validation` to say. This module only
reads them.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Protocol

from lxml import etree

from .errors import InvalidBundle
from .xml import BPMN_NS, CAMUNDA_NS, is_bpmn, is_dmn, parse_xml

__all__ = ["BPMN", "DMN", "Bundle", "bpmn_name_of", "kind_of"]

BPMN = ".bpmn"
DMN = ".dmn"
_B = f"{{{BPMN_NS}}}"


def kind_of(filename: str) -> str | None:
    """`BPMN` or `DMN` from the end of the file name, whatever its case; None for any other file."""
    lowered = filename.lower()
    return next((kind for kind in (BPMN, DMN) if lowered.endswith(kind)), None)


def bpmn_name_of(names: Iterable[str]) -> str | None:
    """The BPMN file among file `names`, when there is exactly one."""
    found = [name for name in names if kind_of(name) == BPMN]
    return found[0] if len(found) == 1 else None


class StoredFile(Protocol):
    """A stored bundle file (`ProcessFile`, `ProposedFile`)."""

    filename: str
    content: bytes


class Bundle(Mapping[str, bytes]):
    """Process files by name (a read-only mapping, in the order given), with what they say.

    Each file is parsed the first time it is asked for, through the hardened `engine.xml.parse_xml`,
    and never again. So validating a bundle, deploying it and describing it parse each file once.
    Pass the same Bundle along to keep that true. A Bundle only reads its files and never raises
    on bad ones (except `root`). What cannot be read gives None or [] here, and validation says why.
    """

    def __init__(self, files: Mapping[str, bytes]):
        self._files = {name: bytes(content) for name, content in files.items()}
        self._roots: dict[str, etree._Element | InvalidBundle] = {}

    @classmethod
    def of(cls, files: Mapping[str, bytes]) -> Bundle:
        """`files` itself if it already is a Bundle (its parsed files are reused), else a new one."""
        return files if isinstance(files, Bundle) else cls(files)

    @classmethod
    def of_stored(cls, rows: Iterable[StoredFile]) -> Bundle:
        """The bundle of a deployed or proposed version's file rows."""
        return cls({row.filename: row.content for row in rows})

    # --- the mapping -------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> bytes:
        return self._files[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        return f"Bundle({sorted(self._files)!r})"

    # --- which file is which ----------------------------------------------------------------------

    @cached_property
    def bpmn_names(self) -> list[str]:
        """Every file named as BPMN (a deployable bundle has exactly one)."""
        return [name for name in self._files if kind_of(name) == BPMN]

    @cached_property
    def dmn_names(self) -> list[str]:
        return [name for name in self._files if kind_of(name) == DMN]

    @cached_property
    def other_names(self) -> list[str]:
        """Files that are neither BPMN nor DMN (an upload refuses them)."""
        return [name for name in self._files if kind_of(name) is None]

    @property
    def bpmn_name(self) -> str | None:
        """The BPMN file, when there is exactly one."""
        return bpmn_name_of(self.bpmn_names)

    def stored_order(self) -> list[tuple[str, bytes]]:
        """The files as a version stores them: the BPMN file first, then the others as given."""
        return sorted(self._files.items(), key=lambda item: kind_of(item[0]) != BPMN)

    # --- parsed files ------------------------------------------------------------------------------

    def root(self, name: str) -> etree._Element:
        """The parsed root element of file `name`, parsed once.

        Raises KeyError if there is no such file, and InvalidBundle with `parse_xml`'s located problem
        if it is too large, declares a DTD or is not well-formed (the same error every time).
        """
        if name not in self._roots:
            try:
                self._roots[name] = parse_xml(self._files[name], name)
            except InvalidBundle as err:
                self._roots[name] = err
        found = self._roots[name]
        if isinstance(found, InvalidBundle):
            raise InvalidBundle(list(found.problems))
        return found

    def _readable(self, name: str) -> etree._Element | None:
        try:
            return self.root(name)
        except InvalidBundle:
            return None

    @property
    def bpmn_root(self) -> etree._Element | None:
        """The BPMN `<definitions>`: None unless there is exactly one BPMN file and it is BPMN 2.0 XML."""
        root = self._readable(self.bpmn_name) if self.bpmn_name is not None else None
        return root if root is not None and is_bpmn(root) else None

    @property
    def dmn_roots(self) -> dict[str, etree._Element]:
        """The DMN `<definitions>` by file name, for the DMN files that are readable DMN."""
        roots = {name: self._readable(name) for name in self.dmn_names}
        return {name: root for name, root in roots.items() if root is not None and is_dmn(root)}

    # --- the main process ------------------------------------------------------------------------

    @cached_property
    def main_process(self) -> etree._Element | None:
        """The process the bundle deploys, whose id is the process key: the first executable
        process that no call activity of the file calls (the first executable one if they all are
        called). None without a readable BPMN file or an executable process."""
        root = self.bpmn_root
        if root is None:
            return None
        executable = [p for p in root.iter(f"{_B}process") if p.get("isExecutable") == "true"]
        called = {call.get("calledElement") for call in root.iter(f"{_B}callActivity")}
        return next((p for p in executable if p.get("id") not in called), executable[0] if executable else None)

    @property
    def key(self) -> str | None:
        """The process key: the id of the main process."""
        return self.main_process.get("id") if self.main_process is not None else None

    @property
    def name(self) -> str | None:
        """The main process's name, or its key when it has none."""
        process = self.main_process
        return (process.get("name") or process.get("id")) if process is not None else None

    @property
    def description(self) -> str:
        """The main process's `bpmn:documentation`, whitespace collapsed ("" without one)."""
        process = self.main_process
        docs = process.find(f"{_B}documentation") if process is not None else None
        return " ".join((docs.text or "").split()) if docs is not None else ""

    @property
    def starter_roles(self) -> list[str]:
        """Who may start the process: its `starter_roles` property (comma-separated), "agent" if unset."""
        process = self.main_process
        properties = {} if process is None else {p.get("name"): p.get("value") for p in process.iterfind(
            f"{_B}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property")}
        return [role.strip() for role in (properties.get("starter_roles") or "agent").split(",") if role.strip()]
