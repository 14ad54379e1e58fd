"""What the bundle needs from the system it runs on, measured, and as README documents it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import glibc_floor  # noqa: E402
import trim_icu_data  # noqa: E402

pytestmark = pytest.mark.packaging


def readme_requirements() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^### System requirements\n(.*?)(?=^#)", text, re.M | re.S)
    assert m, "README.md has no '### System requirements' section"
    return m.group(1)


def test_glibc_floor_and_system_libraries_are_the_documented_ones(bundle):
    result = glibc_floor.scan(bundle)
    print(f"\nbundle: needs GLIBC {result['glibc']} (from {', '.join(result['needed_by'])}); from the system: "
          + ", ".join(result["system"]))
    assert result["glibc"] == glibc_floor.GLIBC_FLOOR, (
        f"the bundle now needs glibc {result['glibc']} ({result['needed_by']}): update GLIBC_FLOOR in "
        "scripts/glibc_floor.py and README's system requirements, or build on an older system")
    assert glibc_floor.check(result) == [], glibc_floor.check(result)
    for lib in glibc_floor.SYSTEM_LIBRARIES:
        assert lib in result["system"], f"{lib} is documented as needed but nothing links it"


def test_the_script_prints_the_floor(bundle):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "glibc_floor.py"), str(bundle), "--system"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"GLIBC {glibc_floor.GLIBC_FLOOR} (needed by: _internal/"), proc.stdout
    assert "not as README documents" not in proc.stdout


def test_readme_states_the_floor_the_libraries_and_the_other_route():
    req = readme_requirements()
    assert f"glibc {glibc_floor.GLIBC_FLOOR}" in req and "x86_64" in req
    for lib in (*glibc_floor.SYSTEM_LIBRARIES, "fonts"):
        assert lib.split(".so")[0] in req, lib
    assert "pip install" in req, "README must name the pip route for older systems"


def test_the_bundles_readme_states_the_same(bundle):
    text = " ".join((bundle / "README.txt").read_text().split())  # lines are refilled to fit
    assert f"glibc {glibc_floor.GLIBC_FLOOR} or newer" in text
    for lib in glibc_floor.SYSTEM_LIBRARIES:
        assert lib in text, lib


def test_reduced_icu_still_does_what_qt_asks_of_it(bundle):
    """Collation, case mapping, calendars and time-zone names work; the dropped services fail cleanly."""
    r = trim_icu_data.check(bundle / "_internal" / "PySide6" / "Qt" / "lib")
    ok = lambda status: status <= 0  # ICU: 0 success, negative a warning, positive an error  # noqa: E731
    assert ok(r["collator"]) and r["collation ä < b"] < 0, r
    assert r["upper(tr)"] == [0, "İSTANBUL"], r
    assert ok(r["calendar"]) and r["zone name"] == [0, "Central European Standard Time"], r
    assert ok(r["codec UTF-8"]) and ok(r["codec ISO-8859-1"]), r
    assert r["codec Shift_JIS"] > 0 and r["word breaks"] > 0, f"the dropped data is still there: {r}"
