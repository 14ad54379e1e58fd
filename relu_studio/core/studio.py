"""The studio's state and every change a user makes to it, as functions over immutable values.

A :class:`StudioState` is what the studio holds between two user actions: the settings, the data,
the initial network and the history (whose last entry is the current network). Every undoable
operation is a function ``state -> Change``: the new state, the name of the undo step and what to
tell the user. Bad input raises a ``ValueError`` subclass whose message says why, and nothing
changes. No Qt here: the studio's controller pushes Changes on its undo stack, runs training and
tells the views; everything below is tested without it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from .dataset import Dataset, make_dataset
from .editing import evaluate_edit
from .geometry import polyline_mse
from .history import History
from .inits import make_network
from .network import Network
from .optimizers import Optimizer
from .ridge import fit_ridge, ridge_mse
from .settings import DEFAULT_LR, MODES, SGD_MODES, SettingsError, StudioSettings, mode_phrase
from .training import Run, TrainSettings

__all__ = ["StudioState", "Change", "Preview", "RidgeReference", "regenerate", "reinitialise",
           "reset_to_initial", "fit_ridge_now", "set_activation", "with_activation", "with_optimizer", "initial_network", "import_network", "import_history", "import_data",
           "open_grid_cell", "preview_edit", "commit_edit", "unit_with_value", "record_run",
           "run_settings", "UNIT_FIELDS"]


@dataclass(frozen=True, eq=False)
class StudioState:
    """The undoable part of a studio: settings, data, initial network, history.

    ``previous`` is the history that a new run "from the initial network" replaced (see
    :mod:`.run_start`): the loss pane draws it faintly beside the new run. Operations that keep
    the data and the initial network keep it; new data or a new initial network drop it.
    """

    settings: StudioSettings
    data: Dataset
    initial: Network
    history: History
    previous: History | None = None

    @property
    def network(self) -> Network:
        """The current network: the history's newest snapshot (its networks carry the activation
        they computed; every change that brings networks in keeps ``settings.activation`` theirs)."""
        return self.history.last

    @classmethod
    def start(cls, settings: StudioSettings | None = None) -> "StudioState":
        """The notebook's start (or ``settings``'): its data, initial network and no training."""
        s = (settings or StudioSettings()).validated()
        data = make_dataset(s.target, s.n, s.noise, s.data_seed)
        net = initial_network(s, data)
        return cls(s, data, net, History.start(net, data))

    def with_settings(self, settings: StudioSettings) -> "StudioState":
        return replace(self, settings=settings)


@dataclass(frozen=True, eq=False)
class Change:
    """One undo step: the state after it, its name ("Regenerate data") and a message (or "")."""

    text: str
    state: StudioState
    message: str = ""


# --------------------------------------------------------------------------- data and network
def with_activation(net: Network, activation) -> Network:
    """``net`` computing ``activation`` (the same parameters)."""
    return net if net.activation == activation else net.replace(activation=activation)


def initial_network(settings: StudioSettings, data: Dataset) -> Network:
    """The initial network the settings' init, width, init seed and activation make on ``data``."""
    return make_network(settings.init, settings.width, settings.init_seed, data, settings.activation)


def regenerate(state: StudioState, target=None, n=None, noise=None, seed=None) -> Change:
    """New data from the notebook's generator (hand edits are replaced); the history restarts
    from the current network. Raises SettingsError or DataError."""
    s = state.settings
    s = s.changed(target=s.target if target is None else target, n=s.n if n is None else n,
                  noise=s.noise if noise is None else noise,
                  data_seed=s.data_seed if seed is None else seed)
    data = make_dataset(s.target, s.n, s.noise, s.data_seed)
    net = state.network
    return Change("Regenerate data", StudioState(s, data, state.initial, History.start(net, data)),
                  f"New data: {data.target.spec}, n = {data.n}, σ = {data.noise:g}. "
                  "The history restarts from the current network.")


def reinitialise(state: StudioState, width=None, seed=None, init=None) -> Change:
    """A new initial network of ``width`` from ``seed`` by the settings' init (or ``init``), with
    the settings' activation."""
    s = state.settings
    s = s.changed(width=s.width if width is None else width,
                  init_seed=s.init_seed if seed is None else seed,
                  init=s.init if init is None else init)
    net = initial_network(s, state.data)
    how = "" if s.init.is_notebook else f", {s.init.describe()}"
    return Change(f"Re-initialise (width {s.width}, seed {s.init_seed}{how})",
                  StudioState(s, state.data, net, History.start(net, state.data)),
                  f"New network: width {s.width}, init seed {s.init_seed}{how}.")


def with_optimizer(settings: StudioSettings, optimizer) -> StudioSettings:
    """The settings training with ``optimizer``; a different optimizer brings its own default
    learning rates (torch's for Adam, AdamW and RMSprop; the notebook's per mode for SGD and
    momentum), a new hyper-parameter of the same one keeps the learning rates."""
    new = settings.changed(optimizer=optimizer)
    if new.optimizer.name == settings.optimizer.name:
        return new
    opt = new.optimizer
    return new.changed(lr_output=opt.lr_or(DEFAULT_LR["output"]), lr_all=opt.lr_or(DEFAULT_LR["all"]))


def set_activation(state: StudioState, activation) -> Change:
    """The hidden units compute ``activation`` from now on: the parameters stay as they are (the
    elbows/centres ``-b/w`` too), the curves change; the history restarts from the current network
    (its errors were measured with the old activation)."""
    s = state.settings.changed(activation=activation)
    act = s.activation
    net = with_activation(state.network, act)
    what = "elbows" if act.piecewise_linear else "centres"
    return Change(f"Activation {act.describe()}",
                  StudioState(s, state.data, with_activation(state.initial, act),
                              History.start(net, state.data, step=state.history.last_step)),
                  f"The hidden units now compute {act.describe()}; the parameters and the {what} "
                  "-b/w are kept. The history restarts from the current network.")


def reset_to_initial(state: StudioState) -> Change:
    return Change("Reset to the initial network",
                  replace(state, history=History.start(state.initial, state.data)),
                  "Back to the initial network; the history restarts.")


def fit_ridge_now(state: StudioState) -> Change:
    """The current network's output layer solved in closed form: a new history entry."""
    net = fit_ridge(state.network, state.data, state.settings.lam)
    hist = state.history.appended(net, state.data, "ridge")
    return Change("Fit output layer by ridge", replace(state, history=hist),
                  f"Output layer fitted by ridge (λ = {state.settings.lam:g}): "
                  f"train MSE {hist.full_train_error[-1]:.4g}.")


# --------------------------------------------------------------------------- imports
def import_network(state: StudioState, net: Network, as_initial: bool) -> Change:
    """A network from a file, as the new initial network or appended as the current one (a
    network of another width or activation cannot continue this timeline: it starts a new one);
    the panel's activation becomes the network's."""
    s = state.settings.changed(width=net.width, activation=net.activation)
    if as_initial:
        return Change(f"Import initial network (width {net.width})",
                      StudioState(s, state.data, net, History.start(net, state.data)))
    if net.width == state.network.width and net.activation == state.network.activation:
        return Change("Import network",
                      replace(state, settings=s,
                              history=state.history.appended(net, state.data, "import")))
    return Change(f"Import network (width {net.width})",
                  StudioState(s, state.data, net, History.start(net, state.data)))


def import_history(state: StudioState, hist: History) -> Change:
    """A notebook history: after the current initial network if the widths and activations
    agree; the panel's activation becomes the history's."""
    if hist.width == state.initial.width and hist.activation == state.initial.activation:
        initial, timeline = state.initial, History.start(state.initial, state.data).extended_with(hist)
    else:
        initial, timeline = hist.network(0), hist
    return Change(f"Import notebook history ({len(hist)} snapshots)",
                  StudioState(state.settings.changed(width=hist.width, activation=hist.activation),
                              state.data, initial, timeline))


def import_data(state: StudioState, data: Dataset, label: str = "Import data") -> Change:
    """Data points from a file; the history restarts from the current network."""
    net = state.network
    return Change(label, replace(state, data=data, history=History.start(net, data), previous=None))


def open_grid_cell(state: StudioState, initial: Network, run: Run, mode: str, seed: int,
                   data: Dataset) -> Change:
    """A finished grid run in the studio: its data, initial network and history."""
    start = History.start(initial, data)
    hist = start.appended(run.final, data, "ridge") if mode == "ridge" else start.extended(run)
    s = state.settings.changed(width=initial.width, init_seed=int(seed),
                               mode=mode if mode in MODES else state.settings.mode,
                               activation=initial.activation)
    # The optimizer the cell trained with (None: the notebook's plain SGD): continuing the run
    # continues it; the other mode's lr becomes that optimizer's default.
    optimizer = run.settings.optimizer if mode in SGD_MODES else None
    if mode in SGD_MODES:
        s = with_optimizer(s, (optimizer or Optimizer()).with_lr(None))
    try:  # the panel's λ and lr become the run's (a sweep's λ 1e-9, a Compare column's lr)
        if mode == "ridge" and "lam" in run.extra:
            s = s.changed(lam=float(run.extra["lam"]))
        elif mode in SGD_MODES and run.settings.mode == mode:
            s = s.with_lr(float(run.settings.lr), mode)
    except SettingsError:
        pass  # a value the panel cannot hold: keep the panel's
    if data.source == "generated" and data.target is not None and data.seed is not None:
        try:  # the panel then describes the data shown: Regenerate with its values draws it again
            s = s.changed(target=data.target.spec, n=data.n, noise=float(data.noise), data_seed=int(data.seed))
        except SettingsError:
            pass  # values the panel cannot hold (none the generator makes): keep the panel's
    how = f", {optimizer.describe()}" if optimizer is not None and not optimizer.is_plain_sgd else ""
    return Change(f"Open Compare cell (width {initial.width}, {mode_phrase(mode)}{how}, seed {seed})",
                  StudioState(s, data, initial, hist))


# --------------------------------------------------------------------------- hand edits
@dataclass(frozen=True, eq=False)
class Preview:
    """A hand edit in progress (a drag): shown at once, committed (undoably) when it ends."""

    network: Network
    data: Dataset
    full_train_error: float
    dead: np.ndarray  # bool mask: units never active on the data

    @cached_property
    def test_error(self) -> float:
        """Test MSE (computed on first use, once: the status bar and the readout strip both show
        it, and a drag event need not compute it at all)."""
        return polyline_mse(self.network, self.data.x_test, self.data.y_test)


def preview_edit(network: Network, data: Dataset, lam: float, ridge_follow: bool) -> Preview:
    """One drag event's numbers; with ``ridge_follow`` the output layer is the ridge solution."""
    net, full, dead = evaluate_edit(network, data, lam, ridge_follow)
    return Preview(net, data, full, dead)


def commit_edit(state: StudioState, preview: Preview, text: str) -> Change:
    """The edited network (and data) become the newest entry of the history."""
    hist = state.history.appended(preview.network, preview.data, "edit")
    # A previous run's curves measure other data once the points are edited: drop them then.
    previous = state.previous if preview.data is state.data else None
    return Change(text, replace(state, data=preview.data, history=hist, previous=previous))


#: The unit table's editable values: field -> how the undo step names it.
UNIT_FIELDS = {"elbow": "elbow", "w": "slope w", "b": "bias b", "out": "output weight"}


def unit_with_value(network: Network, unit: int, field: str, value: float) -> Network:
    """``network`` with one typed value of unit ``unit`` (ValueError if it cannot be)."""
    if field == "elbow":
        return network.with_elbow(unit, value)
    if field == "w":
        return network.with_unit(unit, w1=value)
    if field == "b":
        return network.with_unit(unit, b1=value)
    if field == "out":
        return network.with_unit(unit, w2=value)
    raise ValueError(f"unknown unit field {field!r}")


# --------------------------------------------------------------------------- training
def run_settings(state: StudioState, run_number: int = 0) -> TrainSettings:
    """The engine's settings for the next run (validated; TrainingError says why not).

    Successive runs draw different minibatches: run ``k`` uses seed ``init_seed + k``.
    """
    s = state.settings
    seed = (s.init_seed + int(run_number)) % 2**32
    optimizer = None if s.optimizer.is_plain_sgd else s.optimizer
    loss = None if s.loss.is_mse else s.loss
    return TrainSettings(s.mode, s.current_lr, s.steps, s.batch_size, s.save_every,
                         seed, optimizer, loss).resolved(state.data.n)


def record_run(before: StudioState, run: Run, reached: Network, steps_done: int) -> Change:
    """A run's history made part of the studio (one undo step: 'Train N steps').

    ``reached`` is the network the run ended with after ``steps_done`` steps: when it stopped
    between two snapshots it is kept as an entry of its own.
    """
    st = run.settings
    hist = before.history.extended(run)
    if not reached.equals(hist.last):
        hist = hist.extended_with(History.start(reached, before.data, st.mode,
                                                before.history.last_step + steps_done, st.lr))
    return Change(f"Train {steps_done:,} steps ({mode_phrase(st.mode)})",
                  replace(before, history=hist))


# --------------------------------------------------------------------------- the ridge reference
class RidgeReference:
    """The best training MSE the current hidden features allow (the ridge fit), cached.

    The cache holds the data set it was computed on and compares it by identity, so a new data
    set is always recomputed (an ``id()`` alone could be reused by a new object).
    """

    def __init__(self):
        self._key = None
        self._data = None
        self._value = None

    def value(self, net: Network, data: Dataset, lam: float) -> float | None:
        key = (net.w1.tobytes(), net.b1.tobytes(), float(lam), net.activation)
        if self._data is not data or self._key != key:
            try:
                value = ridge_mse(net, data, lam)
            except (ValueError, ArithmeticError):
                value = None
            self._key, self._data, self._value = key, data, value
        return self._value
