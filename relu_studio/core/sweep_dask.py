"""Running a sweep's batches on a Dask distributed cluster (optional: ``pip install
relu-studio[sweep]``; the desktop app never imports this module).

``DaskExecutor("tcp://host:8786")`` connects to a running scheduler (``dask scheduler`` and
``dask worker tcp://host:8786`` on each machine, each with relu-studio installed);
``DaskExecutor(local_workers=N)`` starts a ``LocalCluster`` of N worker processes, one thread
each. Each task is one batch of runs (:func:`~.sweep_run.make_batches`), so the scheduler's
per-task cost is shared by many short runs. Results come back as plain rows and are written
by the caller as tasks finish. A worker that dies mid-task (killed, out of memory) loses only
its unfinished task: the scheduler runs that task again on another worker (up to Dask's
``distributed.scheduler.allowed-failures`` times); a task that raises is retried ``retries``
times. Rows are the same bit for bit as a local run's (they depend only on the settings).
"""
from __future__ import annotations

import threading
import uuid

from .sweep_run import run_batch

__all__ = ["DaskExecutor", "DaskUnavailable", "dask_available"]


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed, or the scheduler cannot be reached."""


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


class DaskExecutor:
    """Batches as tasks on a Dask cluster; use as a context manager (it closes what it opened)."""

    def __init__(self, address: str | None = None, local_workers: int | None = None,
                 retries: int = 2, task=run_batch, connect_timeout: float = 20.0):
        if (address is None) == (local_workers is None):
            raise ValueError("give a scheduler address or a number of local workers")
        self.address, self.local_workers = address, local_workers
        self.retries, self.task, self.connect_timeout = retries, task, connect_timeout
        self.client = self.cluster = None

    def __enter__(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise DaskUnavailable("running on Dask needs dask.distributed: "
                                  "pip install 'relu-studio[sweep]'") from None
        if self.address is not None:
            try:
                self.client = Client(self.address, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise DaskUnavailable(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        else:
            self.cluster = LocalCluster(n_workers=int(self.local_workers), threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False

    @property
    def workers(self) -> int:
        if self.client is None:
            return int(self.local_workers or 1)
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def describe(self) -> str:
        where = self.address or f"a local cluster of {self.local_workers} processes"
        return f"Dask ({where}, {self.workers} worker thread{'s' if self.workers != 1 else ''})"

    def run(self, batches: list, histories: bool, cancel: threading.Event):
        """Yield ``(index, [(row, history), ...])`` per batch as tasks finish."""
        from distributed import wait

        token = uuid.uuid4().hex[:8]
        futures = {}
        for i, batch in enumerate(batches):
            fut = self.client.submit(self.task, batch, 1, None, histories,
                                     key=f"relu-sweep-{token}-{i}", pure=False,
                                     retries=self.retries)
            futures[fut] = i
        pending = set(futures)
        try:
            while pending and not cancel.is_set():
                try:  # wake up now and then to notice a cancel
                    done, _ = wait(list(pending), timeout=0.2, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    continue
                for fut in sorted(done, key=futures.get):
                    pending.discard(fut)
                    yield futures[fut], fut.result()
                    fut.release()
        finally:
            if pending:
                self.client.cancel(list(pending))
