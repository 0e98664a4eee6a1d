"""The layering in ARCHITECTURE.md, checked against the imports in the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "animus_prep"

# Unit -> the units of animus_prep it may import (a unit is a top-level module or package).
ALLOWED: dict[str, set[str]] = {
    "policy": {"server_rules"},
    "server_rules": set(),
    "reasons": set(),
    "_argtypes": set(),
    "_text": set(),
    "_opencv": set(),
    "faces": {"_opencv"},
    "client": set(),
    "inspection": {"_opencv", "policy", "reasons", "faces", "server_rules"},
    "config": {"policy"},
    "crops": {"inspection", "faces", "policy", "reasons"},
    "pipeline": {"client", "inspection", "faces", "policy", "reasons"},
    "htmlreport": {"_text", "inspection", "pipeline", "faces", "policy", "reasons", "__init__"},
    "cli": {
        "_argtypes",
        "_text",
        "client",
        "config",
        "crops",
        "faces",
        "htmlreport",
        "inspection",
        "pipeline",
        "policy",
        "reasons",
        "sandbox",
        "__init__",
    },
    "sandbox": {"_argtypes", "server_rules"},
    "_launch": {"cli"},  # the console script: the command, loaded under a Ctrl-C guard
    "__init__": set(),  # lazy: only names in strings and under TYPE_CHECKING
}


def _unit(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) else "__init__"


def _imported_units(path: Path, source: str | None = None) -> set[str]:
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    depth = len(path.relative_to(PACKAGE).parts) - 1  # folders below animus_prep
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1  # levels above the module's own folder
            if up > depth:
                continue
            base = list(path.relative_to(PACKAGE).parts[: depth - up])
            target = base + (node.module.split(".") if node.module else [])
            if target:
                found.add(target[0])
                continue
            # `from .. import x`: the submodule x, or a name of the package's __init__.
            for alias in node.names:
                is_unit = (PACKAGE / alias.name).is_dir() or (
                    PACKAGE / f"{alias.name}.py"
                ).is_file()
                found.add(alias.name if is_unit else "__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("animus_prep"):
            parts = (node.module or "").split(".")
            found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("animus_prep."):
                    found.add(alias.name.split(".")[1])
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path: Path) -> None:
    unit = _unit(path)
    imported = _imported_units(path) - {unit}
    if unit == "__init__":
        return  # checked by test_the_top_level_module_imports_nothing_eagerly
    assert imported <= ALLOWED[unit], f"{unit} imports {sorted(imported - ALLOWED[unit])}"


def test_the_top_level_module_imports_nothing_eagerly() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    eager = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level  # relative imports at top level
    ]
    assert eager == []


@pytest.mark.parametrize(
    "source",
    [
        "from ..inspection.checks import CheckResult\n",
        "from ..inspection import checks\n",
        "import animus_prep.inspection.checks\n",
        "from animus_prep.inspection import checks\n",
    ],
)
def test_an_upward_import_from_a_leaf_is_seen(source: str) -> None:
    # The faces leaf importing the pre-flight, in each way it could be written.
    units = _imported_units(PACKAGE / "faces" / "detector.py", source)
    assert units == {"inspection"}
    assert not units <= ALLOWED["faces"]
