"""Autosave and crash recovery: a killed studio's session is offered back, a clean exit is not."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from relu_studio.core.io import autosave
from relu_studio.core.io.session import Session, load_session
from session_compare import session_equal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and PIDs")

#: The session a child "studio" autosaves (the parent builds the same one to compare).
CHILD_SESSION = "Session.from_settings(width=5, n=40, init_seed=3)"
CHILD_VIEW = {"scaled_units": True, "timeline_index": 0}

CHILD = textwrap.dedent(f"""
    import sys, time
    from relu_studio.core.io.session import Session
    from relu_studio.core.io import autosave
    s = {CHILD_SESSION}
    s.view = {CHILD_VIEW!r}
    autosave.write_autosave(s)
    if sys.argv[1] == "clean":
        autosave.mark_clean_exit()
        sys.exit(0)
    print("saved", flush=True)
    time.sleep(120)
""")


def expected_child_session() -> Session:
    s = Session.from_settings(width=5, n=40, init_seed=3)
    s.view = dict(CHILD_VIEW)
    return s


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(autosave.ENV_VAR, str(tmp_path))
    return tmp_path


def start_child(data_dir, how="crash"):
    env = {**os.environ, autosave.ENV_VAR: str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, how], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if how == "crash":
        line = proc.stdout.readline()
        assert line == "saved\n", proc.stderr.read() if proc.poll() is not None else line
    return proc


def test_the_folder_follows_the_environment(data_dir, monkeypatch):
    assert autosave.autosave_dir() == data_dir / "autosave"
    assert autosave.autosave_path().parent == data_dir / "autosave"
    assert autosave.autosave_path().name.startswith(f"autosave-{os.getpid()}-")
    monkeypatch.delenv(autosave.ENV_VAR)
    import platformdirs

    assert autosave.autosave_dir() == (
        autosave.Path(platformdirs.user_data_dir("relu-studio", appauthor=False)) / "autosave")


def test_write_then_clean_exit(data_dir):
    s = expected_child_session()
    path = autosave.write_autosave(s)
    assert path == autosave.autosave_path() and path.exists()
    assert session_equal(load_session(path), s)
    marker = json.loads(path.with_suffix(".json").read_text())
    assert marker["pid"] == os.getpid()
    assert autosave.find_recovery() is None  # our own autosave is never offered to ourselves
    s.view["timeline_index"] = 1
    autosave.write_autosave(s)  # the next autosave replaces the previous one
    assert load_session(path).view["timeline_index"] == 1
    autosave.mark_clean_exit()
    assert list((data_dir / "autosave").iterdir()) == []
    assert autosave.find_recovery() is None


def test_a_killed_session_is_offered_and_restores_exactly(data_dir):
    proc = start_child(data_dir)
    try:
        # while that studio runs, its autosave is not a recovery
        assert autosave.find_recovery() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    path = autosave.find_recovery()
    assert path is not None and path.name.startswith(f"autosave-{proc.pid}-")
    restored = load_session(path)
    assert session_equal(restored, expected_child_session())
    # find_recovery changes nothing: asking again gives the same answer
    assert autosave.find_recovery() == path
    autosave.discard_recovery(path)
    assert autosave.find_recovery() is None
    assert list((data_dir / "autosave").iterdir()) == []


def test_a_clean_exit_leaves_no_offer(data_dir):
    proc = start_child(data_dir, "clean")
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert autosave.find_recovery() is None
    assert list((data_dir / "autosave").iterdir()) == []


def test_an_interrupted_write_keeps_the_previous_autosave(data_dir, monkeypatch):
    first = expected_child_session()
    path = autosave.write_autosave(first)
    before = path.read_bytes()
    second = Session.from_settings(width=9)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        autosave.write_autosave(second)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert session_equal(load_session(path), first)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    autosave.mark_clean_exit()


def _plant(folder, iid, marker):
    folder.mkdir(parents=True, exist_ok=True)
    from relu_studio.core.io.session import save_session

    path = save_session(expected_child_session(), folder / f"autosave-{iid}.relustudio")
    if marker is not None:
        (folder / f"autosave-{iid}.json").write_text(marker)
    return path


def test_stale_markers(data_dir):
    folder = data_dir / "autosave"
    host = autosave.socket.gethostname()
    # a live process (this one) under another instance id: not offered
    live = _plant(folder, "live", json.dumps({"pid": os.getpid(), "start": autosave._start_token(
        os.getpid()), "host": host}))
    assert autosave.find_recovery() is None
    # the same PID, but a different start time: the PID was reused, the owner is gone
    if sys.platform.startswith("linux"):
        reused = _plant(folder, "reused", json.dumps({"pid": os.getpid(), "start": "1", "host": host}))
        assert autosave.find_recovery() == reused
        autosave.discard_recovery(reused)
    # no marker, or an unreadable one: offered (better than losing work)
    orphan = _plant(folder, "orphan", None)
    assert autosave.find_recovery() == orphan
    garbled = _plant(folder, "garbled", "{not json")
    assert set(autosave.list_recoveries()) == {orphan, garbled}
    # another machine's instance: cannot be checked, left alone
    _plant(folder, "remote", json.dumps({"pid": 1, "start": None, "host": host + "-elsewhere"}))
    assert set(autosave.list_recoveries()) == {orphan, garbled}
    (folder / "autosave-gone.json").write_text(json.dumps({"pid": 2**22 + 12345, "host": host}))
    (folder / ".autosave-gone.relustudio.abc123.tmp").write_bytes(b"half a file")
    autosave.discard_recovery()
    assert autosave.find_recovery() is None
    assert sorted(p.name for p in folder.iterdir()) == [
        "autosave-live.json", "autosave-live.relustudio",
        "autosave-remote.json", "autosave-remote.relustudio"]
    with pytest.raises(ValueError, match="belongs to a running ReLU Studio"):
        autosave.discard_recovery(live)
    with pytest.raises(ValueError, match="is not an autosave"):
        autosave.discard_recovery(data_dir / "elsewhere.relustudio")


def test_a_damaged_recovery_is_reported_by_load_session(data_dir):
    folder = data_dir / "autosave"
    path = _plant(folder, "damaged", None)
    path.write_bytes(path.read_bytes()[:100])
    assert autosave.find_recovery() == path
    with pytest.raises(ValueError, match="truncated or damaged"):
        load_session(path)
    autosave.discard_recovery(path)
    assert autosave.find_recovery() is None
