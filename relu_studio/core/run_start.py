"""Where a new run starts: from the network trained so far, or from the initial network.

The notebook compares modes from the same start: output layer only and all layers each train the
*same* initial network. In the studio, Train after a run continues from where that run stopped;
after the mode, the learning rate or the width changed since the network was last trained, that
is rarely what a student means (the elbows of an "output layer only" run then stand where
all-layers training already moved them). So a new run after such a change asks, or follows the
user's remembered preference (:data:`~relu_studio.core.settings.RUN_START_CHOICES`).

Everything here is a pure function of the studio's state: whether a new run needs the choice
(:func:`start_question`), what to do given the preference (:func:`start_plan`) and the state a
run "from the initial network" starts from (:func:`start_from_initial`): exactly the state
*Reset* gives, so that the run equals Reset + Train.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .history import History
from .settings import MODE_INFO, SGD_MODES, check_run_start
from .studio import Change, StudioState, initial_network

__all__ = ["TrainedWith", "StartQuestion", "last_trained", "start_question", "start_plan",
           "start_from_initial", "DEFAULT_ANSWER"]

#: The answer when the question cannot be asked (no window): the notebook's comparison.
DEFAULT_ANSWER = "initial"


@dataclass(frozen=True)
class TrainedWith:
    """The mode and learning rate of the newest SGD step in a history."""

    mode: str
    lr: float

    def describe(self) -> str:
        """``"all layers at lr 0.02"``, ``"the output layer only at lr 0.2"``."""
        return f"{MODE_INFO[self.mode].phrase} at lr {self.lr:g}"


def last_trained(history: History) -> TrainedWith | None:
    """How the newest SGD-trained snapshot of ``history`` was trained (None: never trained)."""
    for tag, lr in zip(reversed(history.tags), reversed(np.asarray(history.lrs))):
        if tag in SGD_MODES:
            return TrainedWith(str(tag), float(lr))
    return None


@dataclass(frozen=True)
class StartQuestion:
    """Why a new run needs the choice: what changed since the network was last trained."""

    changes: tuple[str, ...]  # "mode: all layers → output layer", "learning rate: 0.02 → 0.05"
    before: TrainedWith
    after: TrainedWith
    can_continue: bool  # False when the width changed: the trained network has the old width
    width: int  # the width a run from the initial network has

    @property
    def text(self) -> str:
        """What changed, in a sentence or two, for the question."""
        text = (f"The network was last trained with {self.before.describe()}; this run trains "
                f"{self.after.describe()}.")
        if not self.can_continue:
            text += f" The width changed: {self.changes[-1].split(': ', 1)[1]}."
        return text


def start_question(state: StudioState) -> StartQuestion | None:
    """The question a new run needs, or None when there is nothing to choose: never trained,
    already at the initial network, ridge (no run), or nothing changed since the last SGD step
    (a mode or lr changed during a run tags the snapshots after it, so it is no change then)."""
    s = state.settings
    if s.mode not in SGD_MODES:
        return None
    last = last_trained(state.history)
    if last is None:
        return None
    if s.width == state.initial.width and state.network.equals(state.initial):
        return None
    now = TrainedWith(s.mode, float(s.current_lr))
    changes = []
    if now.mode != last.mode:
        changes.append(f"mode: {MODE_INFO[last.mode].short} → {MODE_INFO[now.mode].short}")
    if now.lr != last.lr:
        changes.append(f"learning rate: {last.lr:g} → {now.lr:g}")
    width = state.network.width
    if s.width != width:
        changes.append(f"width: {width} → {s.width}")
    if not changes:
        return None
    return StartQuestion(tuple(changes), last, now, s.width == width, s.width)


def start_plan(question: StartQuestion | None, preference: str) -> str:
    """``"continue"``, ``"initial"`` or ``"ask"``: what Train does given the question (None:
    nothing to choose, so it continues) and the preference. A network of another width cannot
    continue: a run then starts from the initial network whatever the preference."""
    preference = check_run_start(preference)
    if question is None:
        return "continue"
    if preference == "continue" and not question.can_continue:
        return "initial"
    return preference


def start_from_initial(state: StudioState) -> Change:
    """The state a run "from the initial network" starts from: what *Reset* gives (the history
    restarts at the initial network), keeping the replaced history as ``previous`` for the loss
    pane. If the settings' width differs from the initial network's, the initial network is the
    settings' init of that width and init seed (what *Re-initialise* gives)."""
    s = state.settings
    initial = state.initial
    if initial.width != s.width:
        initial = initial_network(s, state.data)
    return Change("Start from the initial network",
                  StudioState(s, state.data, initial, History.start(initial, state.data),
                              previous=state.history),
                  "Started from the initial network (as the notebook compares modes); "
                  "Undo (Ctrl+Z) brings back the previous run.")
