"""The package's floor plan holds: few top-level modules, small modules, folders that say what
they own, and imports that only point down the layers drawn in ``docs/architecture.md``.

These read the source as text (``ast``), so they run in milliseconds and need no import of the
package; a failure names the file and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "alor_sync"
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 450

# A unit is a top-level module or a folder. It may import only units of a lower rank (or
# itself): the layers of docs/architecture.md, from the values every layer shares up to the CLI.
RANK = {
    "errors": 0,
    "wire": 1,
    "events": 1,
    "endpoints": 1,
    "models": 1,
    "auth": 1,
    "transport": 1,
    "dispatch": 2,
    "protocol": 2,
    "dataframes": 2,
    "codec": 3,
    "emulator": 3,  # narrower still: tests/emulator/test_emulator_isolation.py
    "data": 4,
    "commands": 5,
    "client_options": 5,
    "client": 6,
    "recording": 7,
    "__init__": 8,
    "cli": 9,
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _unit_of_file(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _unit_of_module(dotted: str) -> str:
    return dotted.split(".")[1]


def _imported_units(path: Path) -> set[str]:
    """The units a file imports (``from alor_sync import protocol`` counts as ``protocol``)."""
    units: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "alor_sync":
            units.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("alor_sync."):
            units.add(_unit_of_module(node.module or ""))
        elif isinstance(node, ast.Import):
            units.update(
                _unit_of_module(alias.name)
                for alias in node.names
                if alias.name.startswith("alor_sync.")
            )
    return units


def test_the_top_level_holds_at_most_eight_modules() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_outside_the_emulator_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in _modules()
        if "emulator" not in path.relative_to(PACKAGE).parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_every_unit_has_a_rank() -> None:
    units = {_unit_of_file(path) for path in _modules()}
    assert units - set(RANK) == set(), "add the new unit to RANK and to docs/architecture.md"


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path) -> None:
    unit = _unit_of_file(path)
    imported = _imported_units(path) - {unit}
    if unit == "emulator":  # it reads recordings: recording/tape.py, which imports only errors
        imported -= {"recording"}
    upward = {other for other in imported if RANK.get(other, 99) >= RANK[unit]}
    assert upward == set(), f"{unit} (rank {RANK[unit]}) imports {upward}"


def test_the_recording_folder_never_pulls_in_the_client() -> None:
    """The emulator reads ``recording.tape`` (whose own imports the emulator's isolation test
    pins); importing the folder on the way must not import the recorder, hence the client."""
    assert _imported_units(PACKAGE / "recording" / "__init__.py") == set()


@pytest.mark.parametrize(
    "folder",
    sorted(path.parent for path in PACKAGE.glob("*/__init__.py")),
    ids=lambda path: path.name,
)
def test_every_folder_says_what_it_owns_and_what_it_never_does(folder: Path) -> None:
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, f"{folder.name}/__init__.py has no docstring"
    assert "Owns:" in docstring and "Never:" in docstring, folder.name


def test_the_architecture_page_names_every_folder() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [path.parent.name for path in PACKAGE.glob("*/__init__.py")]
    missing = [name for name in missing if f"`{name}/`" not in page]
    assert missing == []
