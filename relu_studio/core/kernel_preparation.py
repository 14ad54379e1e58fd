"""The training kernels, prepared once per process in a background thread (numba compiles them
on first use, or loads them from its cache): the studio's single-run kernel of the notebook's
ReLU and MSE first, then the grid's batched ones and the single-run kernel of the other
activations and losses. Its own module, above both ``training`` and ``batch_training``, which it
prepares."""
from __future__ import annotations

import threading
import time

from .batch_training import train_batch
from .training import MODES, Trainer

__all__ = ["KernelPreparation", "KERNELS"]


def _compile_kernels() -> None:
    """Compile the studio's training kernel (or load it from numba's cache): a tiny run does it."""
    from .dataset import make_dataset
    from .network import init_network

    Trainer(init_network(2, 0), make_dataset("abs", n=10, noise=0.0), steps=3, save_every=1).run()


def _compile_batch_kernels() -> None:
    """Compile the grid's batched kernels (or load them): a tiny batch per mode (each mode is a
    loop nest of its own); then the single-run kernel of every other activation and loss (a
    tiny run with one: several seconds on a first start, so after the notebook's kernels)."""
    from .activations import Activation
    from .dataset import make_dataset
    from .network import init_network

    data = make_dataset("abs", n=10, noise=0.0)
    for mode in MODES:
        train_batch([init_network(2, 0)], data, mode=mode, steps=3, save_every=1)
    Trainer(init_network(2, 0).replace(activation=Activation("tanh")), data, steps=3,
            save_every=1).run()


class KernelPreparation:
    """The training kernels, prepared once per process in a background thread.

    The first compile takes seconds (later starts load numba's cache in a fraction of one) and
    cannot be interrupted. Running it on a thread of its own lets every caller wait for it in
    small slices while staying responsive (a GUI worker can still be shut down at once); a
    training call made before it is done simply waits inside numba. ``ready`` is set when the
    preparation (``prepare``: the studio's kernel) ended; ``error`` then says why it failed (None
    if it worked). The same thread then runs ``then`` (the grid's batched kernels, another few
    seconds on a first start), so that the studio can train before those are ready;
    ``all_ready`` is set when that ended too (a failure there is left to the grid, which compiles
    what it needs when it first runs and reports its own error).
    """

    def __init__(self, prepare=_compile_kernels, then=None):
        self._prepare = prepare
        self._then = then
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.all_ready = threading.Event()
        self.error: str | None = None
        self.seconds: float | None = None

    def start(self) -> None:
        """Begin the preparation if it has not begun (returns at once)."""
        with self._lock:
            if self._thread is None:
                # A daemon: a process that ends mid-compile does not wait for it.
                self._thread = threading.Thread(target=self._run, name="relu-kernel-prepare",
                                                daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Start if needed and wait up to ``timeout`` seconds; True once the preparation ended."""
        self.start()
        return self.ready.wait(timeout)

    def wait_all(self, timeout: float | None = None) -> bool:
        """As :meth:`wait`, for both parts (the studio's kernel and the grid's)."""
        self.start()
        return self.all_ready.wait(timeout)

    @property
    def running(self) -> bool:
        """True while the preparation runs (started, not ended)."""
        return self._thread is not None and not self.ready.is_set()

    def finish(self, timeout: float | None = None) -> bool:
        """At exit: wait up to ``timeout`` for a preparation in progress (never starts one), so
        that the process does not end inside a compile; True if none is running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._prepare()
        except Exception as exc:  # reported to whoever wants to train
            self.error = f"Could not prepare the training kernel: {exc}"
        finally:
            self.seconds = time.perf_counter() - t0
            self.ready.set()
        try:
            if self.error is None and self._then is not None:
                self._then()
        except Exception:  # the grid compiles what it needs itself, and says if that fails
            pass
        finally:
            self.all_ready.set()


#: The process's training kernels (see :class:`KernelPreparation`).
KERNELS = KernelPreparation(_compile_kernels, then=_compile_batch_kernels)
