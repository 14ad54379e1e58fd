"""The status bar never shows something stale: a run's last word goes when another snapshot is
shown or a new run starts, the training speed shows only while a run trains, the readout of the
shown snapshot is never hidden by a message, and an error is said once, naming its file once."""
import pytest
from studio_helpers import TIMEOUT, configure, run_to_end, wait_state


def message(window) -> str:
    return window.statusBar().currentMessage()


def test_finished_goes_when_scrubbing_and_the_readout_follows(window, qtbot):
    c = window.c
    configure(c, steps=5000, save_every=500)
    run_to_end(qtbot, c)
    qtbot.waitUntil(lambda: "Finished" in message(window))
    assert window.status_loss.isVisible()  # a message never hides the numbers
    window.timeline.slider.setValue(3)  # scrub, as a user drags the slider
    assert c.shown_index == 3
    assert message(window) == ""
    window.flush_views()
    assert window.status_loss.text().startswith(f"step {c.history.step(3):,}")
    assert window.status_rate.text() == "" and window.status_state.text() == "idle"


def test_the_speed_shows_only_while_training(window, qtbot):
    c = window.c
    configure(c, steps=50_000_000, save_every=1000)
    c.start()
    wait_state(qtbot, c, "running")
    qtbot.waitUntil(lambda: window.status_rate.text().endswith("steps/s"), timeout=TIMEOUT)
    assert not window.status_rate.text().startswith("0 ")
    c.pause()
    wait_state(qtbot, c, "paused")
    window.flush_views()
    assert window.status_rate.text() == "" and window.status_state.text() == "paused"
    qtbot.wait(150)  # frames already in the mailbox do not bring it back
    window.flush_views()
    assert window.status_rate.text() == ""
    window.action("previous").trigger()  # scrubbing while paused: the readout follows
    window.flush_views()
    assert window.status_loss.text().startswith(f"step {c.shown_step:,}")
    c.stop()
    wait_state(qtbot, c, "idle")
    window.flush_views()
    assert window.status_rate.text() == "" and window.status_state.text() == "idle"


def test_a_new_run_clears_the_last_runs_message(window, qtbot):
    c = window.c
    configure(c, steps=2000, save_every=500)
    run_to_end(qtbot, c)
    qtbot.waitUntil(lambda: "Finished" in message(window))
    configure(c, steps=50_000_000)
    c.start()
    wait_state(qtbot, c, "running")
    assert "Finished" not in message(window)
    c.stop()
    wait_state(qtbot, c, "idle")


@pytest.mark.parametrize("name, content, kind", [
    ("empty.pt", b"", "network"), ("text.pt", b"hello", "history"), ("bad.csv", b"x,y\n1,2,3\n", "csv"),
    ("missing.pt", None, "network"), ("missing.csv", None, "csv")])
def test_an_import_error_is_said_once_naming_its_file_once(window, qtbot, tmp_path, name, content, kind):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    f = window.files
    {"network": lambda: f.import_network(True, str(path)), "history": lambda: f.import_history(str(path)),
     "csv": lambda: f.import_csv(str(path))}[kind]()
    assert window.banner.isVisible()
    shown = window.banner.text() + "\n" + message(window)
    assert shown.count(name) == 1, shown
    assert str(tmp_path) not in shown  # the name, not the whole path


def test_fit_ridge_now_does_not_look_like_a_toggle(window):
    a = window.action("ridge")
    assert not a.isCheckable() and a.icon().isNull()
    assert window.action("follow").isCheckable()  # the toggle beside it is one
