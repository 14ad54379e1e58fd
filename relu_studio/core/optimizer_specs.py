"""Optimizers as short text, for the Compare tab's field and the command line's ``--optimizers``.

One optimizer is its name, optionally a number, then ``key=value`` settings, separated by
spaces, commas or a colon::

    sgd                      momentum 0.9             adam 1e-3 (a number: Adam's lr)
    nesterov                 momentum:momentum=0.95,nesterov=true
    adam lr=3e-4 wd=0.01     rmsprop alpha=0.9 centered=yes

A bare number after ``momentum``/``nesterov`` is the momentum, after any other name the learning
rate. ``nesterov`` is SGD with Nesterov momentum. Several optimizers are written one after the
other: ``"sgd, momentum 0.9, adam lr=1e-3"`` (a name starts the next one). Text is parsed, never
evaluated; every mistake raises :class:`~relu_studio.core.settings.SettingsError` naming the
piece of text at fault. :func:`format_optimizer` writes an optimizer back in this form
(``parse_optimizer(format_optimizer(o)) == o``).
"""
from __future__ import annotations

import math
import re
from dataclasses import fields

from .optimizers import OPTIMIZERS, Optimizer
from .settings import SettingsError

__all__ = ["parse_optimizer", "parse_optimizers", "format_optimizer", "format_optimizers",
           "OPTIMIZER_KEYS"]

#: The names a spec may start with (``nesterov``: momentum with ``nesterov=true``).
_NAMES = (*OPTIMIZERS, "nesterov")
#: Setting keys and the Optimizer field each sets (``wd`` is short for weight_decay).
OPTIMIZER_KEYS = {"lr": "lr", "momentum": "momentum", "dampening": "dampening",
                  "nesterov": "nesterov", "beta1": "beta1", "beta2": "beta2", "eps": "eps",
                  "weight_decay": "weight_decay", "wd": "weight_decay", "alpha": "alpha",
                  "centered": "centered"}
_BOOLS = {"true": True, "yes": True, "on": True, "1": True,
          "false": False, "no": False, "off": False, "0": False}
_FLAGS = ("nesterov", "centered")


def _fail(message: str):
    raise SettingsError("optimizers", message)


def _tokens(text: str) -> list[str]:
    if not isinstance(text, str):
        _fail(f"an optimizer must be text such as 'adam lr=1e-3', got {text!r}")
    # "name:k=v,k=v" -> name k=v k=v; spaces around "=" are allowed ("lr = 0.1").
    text = re.sub(r"\s*=\s*", "=", text.replace(":", " "))
    return [t for t in re.split(r"[\s,;]+", text.strip()) if t]


def _number(spec: str, key: str, value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        _fail(f"{spec!r}: {key} must be a number, got {value!r}")
    return v


def _build(spec: str, name: str, number: str | None, settings: list[tuple[str, str]]) -> Optimizer:
    values: dict = {}
    if name == "nesterov":
        name, values["nesterov"] = "momentum", True
    if number is not None:
        key = "momentum" if name == "momentum" else "lr"
        values[key] = _number(spec, key, number)
    betas = list(Optimizer().betas)
    for key, raw in settings:
        field = OPTIMIZER_KEYS.get(key.lower())
        if field is None:
            _fail(f"{spec!r}: unknown setting {key!r} (known: {', '.join(OPTIMIZER_KEYS)})")
        if field in values or (field in ("beta1", "beta2") and field in values.get("_betas", ())):
            _fail(f"{spec!r}: {key} is given twice")
        if field in _FLAGS:
            flag = _BOOLS.get(raw.lower())
            if flag is None:
                _fail(f"{spec!r}: {key} must be true or false, got {raw!r}")
            values[field] = flag
        elif field in ("beta1", "beta2"):
            betas[field == "beta2"] = _number(spec, key, raw)
            values.setdefault("_betas", set()).add(field)
        else:
            values[field] = _number(spec, key, raw)
    if values.pop("_betas", None):
        values["betas"] = tuple(betas)
    try:
        return Optimizer(name, **values)
    except SettingsError as exc:
        _fail(f"{spec!r}: {exc}")


def _split(text: str) -> list[tuple[str, str, str | None, list]]:
    """``[(spec text, name, number, [(key, value)])]``, one per optimizer named in ``text``."""
    out = []
    for tok in _tokens(text):
        low = tok.lower()
        if low in _NAMES:
            out.append([tok, low, None, []])
            continue
        if not out:
            _fail(f"{text.strip()!r}: start with an optimizer's name ({', '.join(_NAMES)}), "
                  f"not {tok!r}")
        cur = out[-1]
        cur[0] += " " + tok
        if "=" in tok:
            key, _, value = tok.partition("=")
            if not key or not value:
                _fail(f"{cur[0]!r}: a setting is key=value, got {tok!r}")
            cur[3].append((key, value))
        elif cur[2] is None and not cur[3]:
            cur[2] = tok
        else:
            _fail(f"{cur[0]!r}: {tok!r} is not an optimizer ({', '.join(_NAMES)}) or a "
                  "key=value setting")
    return [tuple(c) for c in out]


def parse_optimizers(text: str) -> tuple[Optimizer, ...]:
    """Every optimizer of ``text`` (at least one), duplicates dropped, order kept."""
    parts = _split(text)
    if not parts:
        _fail("enter at least one optimizer, e.g. sgd, momentum 0.9, adam lr=1e-3")
    out = []
    for spec, name, number, settings in parts:
        opt = _build(spec, name, number, settings)
        if opt not in out:
            out.append(opt)
    return tuple(out)


def parse_optimizer(text: str) -> Optimizer:
    """Exactly one optimizer (the command line's ``--optimizers`` items)."""
    parts = _split(text)
    if len(parts) != 1:
        _fail(f"{text!r}: one optimizer per item, e.g. 'momentum:momentum=0.9,nesterov=true'"
              if parts else "an empty optimizer")
    spec, name, number, settings = parts[0]
    return _build(spec, name, number, settings)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if float(v) == float(f"{v:g}") else repr(float(v))


def format_optimizer(opt: Optimizer) -> str:
    """``opt`` as :func:`parse_optimizer` reads it, settings at their defaults left out:
    ``"sgd"``, ``"momentum 0.9"``, ``"nesterov"``, ``"adam lr=0.0003 wd=0.01"``."""
    base = Optimizer(opt.name)
    if opt.name == "momentum":
        head = "nesterov" if opt.nesterov else "momentum"
        words = [head] + ([_value(opt.momentum)] if head == "momentum" or opt.momentum != base.momentum
                          else [])
    else:
        words = [opt.name]
    if opt.lr is not None:
        words.append(f"lr={_value(opt.lr)}")
    for f in fields(opt):
        if f.name in ("name", "lr", "momentum" if opt.name == "momentum" else "") or (
                f.name == "nesterov" and opt.name == "momentum"):
            continue
        value, default = getattr(opt, f.name), getattr(base, f.name)
        if value == default:
            continue
        if f.name == "betas":
            words += [f"beta{i + 1}={_value(b)}" for i, (b, d) in enumerate(zip(value, default)) if b != d]
        else:
            words.append(f"{'wd' if f.name == 'weight_decay' else f.name}={_value(value)}")
    return " ".join(words)


def format_optimizers(optimizers) -> str:
    """Several optimizers as one line for the Compare tab's field: ``"sgd, adam lr=0.001"``."""
    return ", ".join(format_optimizer(o) for o in optimizers)
