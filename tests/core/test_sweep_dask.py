"""Sweeps on a Dask LocalCluster of 2 worker processes: the same table as the local run, and a
worker killed mid-task loses no finished row and its runs are run again."""
from __future__ import annotations

import functools
import os
import signal
import sys

import pytest

pytest.importorskip("distributed")

from relu_studio.core.sweep_dask import DaskExecutor  # noqa: E402
from relu_studio.core.sweep_run import (TIMING_COLUMNS, LocalExecutor, read_results,  # noqa: E402
                                        run_batch, run_sweep)
from relu_studio.core.sweep_spec import SweepSpec, expand  # noqa: E402

SPEC = {"width": [2, 3, 6], "mode": ["output", "all", "ridge"], "steps": 300, "n": 20,
        "noise": [0.05, 0.2], "seeds": 3}


def table(folder):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS}
            for r in read_results(folder / "results.csv")]


def crash_once(batch, jobs, cancel, histories, victim, marker):
    """The batch task, except that the first time it gets ``victim``'s run it kills its own
    worker process (SIGKILL: no clean-up, as the OOM killer or a pulled plug would)."""
    if any(r.run_id == victim for r in batch):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
    return run_batch(batch, jobs, cancel, histories)


@pytest.fixture(scope="module")
def local_table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    run_sweep(SweepSpec.from_values(SPEC), folder, LocalExecutor(2))
    return table(folder)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_local_cluster_gives_the_local_table_and_survives_a_killed_worker(tmp_path, local_table):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    spec = SweepSpec.from_values(SPEC)
    runs = expand(spec)
    with DaskExecutor(local_workers=2) as ex:
        same = tmp_path / "dask"
        outcome = run_sweep(spec, same, ex)
        assert outcome.ran == len(runs) and not outcome.cancelled
        assert table(same) == local_table  # bit for bit, in the same order

        marker = tmp_path / "killed-once"
        victim = runs[len(runs) // 2].run_id  # a batch in the middle: others finish before it
        ex.task = functools.partial(crash_once, victim=victim, marker=str(marker))
        killed = tmp_path / "killed"
        arrived = []
        outcome = run_sweep(spec, killed, ex, on_rows=arrived.extend)
        assert marker.exists()  # a worker did die holding the victim's batch
        assert outcome.ran == len(runs) and outcome.failed == 0
        assert sorted(r["run_id"] for r in arrived) == sorted(r.run_id for r in runs)  # each once
        assert table(killed) == local_table  # nothing lost, the victim's runs were run again
