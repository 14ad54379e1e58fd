"""The core (and the top-level scripting API) must work without Qt: it never imports it."""
import json
import subprocess
import sys
import textwrap

QT_PREFIXES = ("PySide6", "shiboken6", "pyqtgraph")

SCRIPT = textwrap.dedent("""
    import json, sys
    import relu_studio.core
    import relu_studio as rs
    from relu_studio.core.report import format_table
    data = rs.make_dataset("piecewise_linear", 200, 0.1, 1)
    net = rs.init_network(10, 0)
    run = rs.train(net, data, mode="all", steps=300, save_every=100)
    rs.fit_ridge(net, data)
    res = rs.run_experiment(data, widths=(3,), modes=("output", "ridge"), seeds=1, steps=50,
                            save_every=10)
    format_table(rs.results_table(res))
    print(json.dumps({"steps": run.steps.tolist(), "modules": sorted(sys.modules)}))
""")


def test_core_and_top_level_import_no_qt():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["steps"] == [1, 100, 200, 300]
    qt = [m for m in info["modules"] if m.split(".")[0].startswith(QT_PREFIXES)]
    assert not qt, f"Qt modules imported by the core: {qt}"
    # the core reproduces torch's init without torch: it must not import it either
    assert "torch" not in info["modules"]
