"""`web/` uses the engine only through `engine/__init__.py`: it imports no engine submodule, only
names `engine.__all__` declares, and `__all__` declares nothing that nobody uses."""
from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]
#: public names web does not use: the tests and the benchmark build and inspect state with them
FOR_TESTS = {"BPMN", "DMN", "CHANGE_CODES", "CHANGE_FACTS", "CODE_KINDS", "MESSAGE_CODES", "PROBLEM_CODES",
             "OutboxMessage", "StagedFile", "failure_of", "frozen_at", "load_organisation", "run_due_timers",
             "validate_bundle", "verify_audit"}


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _engine_imports(path: Path) -> tuple[set[str], list[str]]:
    """(names imported `from engine`, engine submodules imported) by one module, anywhere in it."""
    names, submodules = set(), []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "engine":
                names |= {alias.name for alias in node.names}
            elif node.module.startswith("engine."):
                submodules.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("engine."):
                    submodules.append(f"{path.relative_to(ROOT)}:{node.lineno}: import {alias.name}")
                elif alias.name == "engine":
                    submodules.append(f"{path.relative_to(ROOT)}:{node.lineno}: import engine (use from engine import)")
    return names, submodules


def _used_by(folder: str) -> set[str]:
    """Names taken from the engine by a folder: imported `from engine`, or read as `engine.<name>`."""
    used = set()
    for path in _modules(folder):
        used |= _engine_imports(path)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "engine":
                used.add(node.attr)
    return used


def test_web_imports_no_engine_submodule():
    found = [line for path in _modules("web") for line in _engine_imports(path)[1]]
    assert found == []


def test_web_imports_only_declared_names():
    undeclared = {name for path in _modules("web") for name in _engine_imports(path)[0]} - set(engine.__all__)
    assert undeclared == set()


def test_declared_names_exist_once():
    assert [name for name in engine.__all__ if not hasattr(engine, name)] == []
    assert len(engine.__all__) == len(set(engine.__all__))


def test_every_declared_name_is_used():
    by_web = _used_by("web")
    by_tests = _used_by("tests") | _used_by("bench")
    unused = {name for name in engine.__all__ if name not in by_web and name not in by_tests}
    assert unused == set()
    # what web does not use is there for the tests, and said so above
    assert {name for name in engine.__all__ if name not in by_web} - FOR_TESTS == set()
