"""A name with a leading underscore is private to its module: no other module of engine/ or web/
imports it (`from .model import _Box`) or reads it from an imported module (`svg._add`).

What a sibling module needs is public in its module and what the rest of the code needs is in the
package's `__all__` (engine/diff, engine/sandbox, web/diagrams were split out of single modules
and shared their private names until then)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("engine", "web")


def _module_name(path: Path) -> tuple[str, bool]:
    """(dotted name, is a package's __init__) of a source file."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _source_of(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute name of the module `from ... import` reads from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def crossings(path: Path) -> list[str]:
    """Each private name of another project module that the module at `path` uses."""
    module, is_package = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(ROOT)
    found, modules = [], {}  # modules: local name -> project module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source_of(node, module, is_package)
            if not _is_module(source):
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno}: from {source} import {alias.name}")
                if _is_module(f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_module(alias.name):
                    top = alias.name.split(".")[0]
                    modules[alias.asname or top] = alias.name if alias.asname else top
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules:
                target = ".".join([modules[value.id], *chain])
                if _is_module(target) and target != module:
                    found.append(f"{where}:{node.lineno}: {target}.{node.attr}")
    return found


def test_no_private_name_crosses_a_module_boundary():
    found = [line for folder in CHECKED for path in sorted((ROOT / folder).rglob("*.py")) for line in crossings(path)]
    assert found == []


def test_the_check_sees_both_kinds_of_crossing(tmp_path, monkeypatch):
    package = tmp_path / "engine" / "thing"
    package.mkdir(parents=True)
    (tmp_path / "engine" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from .model import _Box, Box\n")
    (package / "model.py").write_text("_Box = Box = 1\n_Box\n")
    (package / "svg.py").write_text("from . import model\nfrom engine.thing import model as m\nmodel._Box, m.Box\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert crossings(package / "__init__.py") == ["engine/thing/__init__.py:1: from engine.thing.model import _Box"]
    assert crossings(package / "model.py") == []
    assert crossings(package / "svg.py") == ["engine/thing/svg.py:3: engine.thing.model._Box"]


def test_each_split_package_declares_its_interface():
    import engine.diff
    import engine.sandbox
    import web.diagrams
    for package in (engine.diff, engine.sandbox, web.diagrams):
        assert package.__doc__ and package.__all__
        assert [name for name in package.__all__ if not hasattr(package, name)] == []
        # no re-export kept for an old import path: what __init__ imports it declares or uses itself
        tree = ast.parse(Path(package.__file__).read_text())
        imported = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                    and node.module != "__future__" for alias in node.names}
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        assert imported - set(package.__all__) - used == set(), package.__name__
