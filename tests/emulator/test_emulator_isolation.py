"""The emulator and the client cannot share a mistake: neither imports the other's wire code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import alor_sync.emulator

EMULATOR_DIR = Path(alor_sync.emulator.__file__).parent
# alor_sync.recording.tape (the file format of record/replay) is shared by design: it imports
# neither side (checked below).
ALLOWED_ALOR_SYNC = (
    "alor_sync.wire",
    "alor_sync.errors",
    "alor_sync.emulator",
    "alor_sync.recording.tape",
)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_emulator_modules_import_no_client_code() -> None:
    offenders = {
        f"{path.name}: {module}"
        for path in EMULATOR_DIR.glob("*.py")
        for module in imported_modules(path)
        if (module == "alor_sync" or module.startswith("alor_sync."))
        and not module.startswith(ALLOWED_ALOR_SYNC)
    }
    assert not offenders


def test_the_recording_format_imports_neither_side() -> None:
    path = EMULATOR_DIR.parent / "recording" / "tape.py"
    own = {m for m in imported_modules(path) if m.startswith("alor_sync")}
    assert own == {"alor_sync.errors"}


def test_importing_the_package_does_not_import_websockets() -> None:
    code = "import sys, alor_sync; print('websockets' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
