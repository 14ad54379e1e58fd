"""Lessons as data: every bundled lesson validates against the settings schema; a malformed one is
refused with a message naming the file and the step; a step's plan calls only what it must."""
import json

import pytest

from relu_studio.core.lessons import (
    ACTIONS,
    FORMAT,
    LessonError,
    bundled_lessons_dir,
    find_lessons,
    load_lesson,
    parse_lesson,
    step_plan,
)
from relu_studio.core.settings import StudioSettings


def good(**step):
    s = {"title": "Train", "text": "Watch the elbows.", **step}
    return {"format": FORMAT, "version": 1, "title": "A lesson", "steps": [{"title": "Start", "text": "Hi"}, s]}


def write(tmp_path, obj, name="my-lesson.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_every_bundled_lesson_validates():
    files = sorted(bundled_lessons_dir().glob("*.json"))
    assert len(files) >= 3  # the notes' three experiments
    lessons, errors = find_lessons()
    assert errors == [] and [les.source for les in lessons] == [str(f) for f in files]
    for les in lessons:
        assert les.title and les.steps
        for step in les.steps:
            assert step.title and step.text
            StudioSettings().changed(**step.settings)  # the schema accepts every value
    # The notes' experiments: output layer only, all layers, ridge on the hidden features.
    modes = {s.settings.get("mode") for les in lessons for s in les.steps}
    assert {"output", "all", "ridge"} <= modes
    assert any("train" in s.actions for les in lessons for s in les.steps)
    assert any(s.question for les in lessons for s in les.steps)


@pytest.mark.parametrize("step, words", [
    ({"settings": {"width": 0}}, ["step 2 (Train)", "width"]),
    ({"settings": {"widht": 20}}, ["step 2 (Train)", "unknown setting 'widht'"]),
    ({"settings": {"mode": "sgd"}}, ["step 2 (Train)", "mode"]),
    ({"actions": ["train", "dance"]}, ["step 2 (Train)", "unknown action 'dance'"]),
    ({"look_at": "ceiling"}, ["step 2 (Train)", "look_at"]),
    ({"grid": {"widths": [10, -3]}}, ["step 2 (Train)", "grid"]),
    ({"question": 42}, ["step 2 (Train)", "'question' must be"]),
    ({"colour": "red"}, ["step 2 (Train)", "unknown key(s) 'colour'"]),
    ({"text": ""}, ["step 2 (Train)", "'text' must be non-empty"]),
])
def test_a_malformed_step_is_refused_naming_file_and_step(tmp_path, step, words):
    p = write(tmp_path, good(**step))
    with pytest.raises(LessonError) as exc:
        load_lesson(p)
    msg = str(exc.value)
    assert msg.startswith("my-lesson.json: ")
    for w in words:
        assert w in msg


@pytest.mark.parametrize("text, words", [
    ("{not json", ["not valid JSON", "line 1"]),
    (json.dumps({"format": "something", "version": 1}), ["not a lesson"]),
    (json.dumps({"format": FORMAT, "version": 99, "title": "x", "steps": [{}]}), ["version 99"]),
    (json.dumps({"format": FORMAT, "version": 1, "title": "x", "steps": []}), ["'steps'"]),
    ('{"format": "relu-studio-lesson", "version": 1, "title": "x", "steps": [{"title": "a", "text": "b", '
     '"settings": {"noise": NaN}}]}', ["NaN"]),
])
def test_a_malformed_file_is_refused_naming_it(tmp_path, text, words):
    p = write(tmp_path, text, "bad.json")
    with pytest.raises(LessonError) as exc:
        load_lesson(p)
    assert str(exc.value).startswith("bad.json: ")
    for w in words:
        assert w in str(exc.value)


def test_find_lessons_keeps_the_good_and_names_the_bad(tmp_path):
    write(tmp_path, good(), "a.json")
    write(tmp_path, good(actions=["fly"]), "b.json")
    lessons, errors = find_lessons(tmp_path)
    assert len(lessons) == 1 and len(errors) == 1 and errors[0].startswith("b.json: step 2")


def test_step_plan_changes_only_what_differs_in_order():
    les = parse_lesson(good(settings={"mode": "output", "lr_output": 0.2, "width": 40, "n": 100, "data_seed": 1},
                            grid={"widths": [10, 20], "seeds": 2}, actions=["train", "reset"]))
    plan = step_plan(les.steps[1], StudioSettings())
    assert plan == [("set_setting", {"name": "mode", "value": "output"}),  # lr_output 0.2 is already set
                    ("regenerate", {"n": 100, "seed": 1}),
                    ("reinitialise", {"width": 40}),
                    ("set_grid", {"widths": (10, 20), "seeds": 2}),
                    ("reset", {}), ("train", {})]  # actions in their fixed order
    assert list(ACTIONS).index("reset") < list(ACTIONS).index("train")
    same = parse_lesson(good(settings={"width": 20, "target": "piecewise_linear"}))
    assert step_plan(same.steps[1], StudioSettings()) == []
