"""The architecture's rules (PRODUCT.md), as import-linter contracts in pyproject.toml: the core
imports no Qt, widgets, bridges or entry points; the bridges import no widgets; the command line
imports no Qt; nothing imports torch but the scripting API's two conversions (as_torch); entry points,
widgets, bridges and core are layers that only import downwards."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or pytest.skip("import-linter is not installed")]
    proc = subprocess.run([*cmd, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "6 kept, 0 broken" in proc.stdout
