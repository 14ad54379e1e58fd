"""Optimizers typed as text (the Compare field, the CLI's --optimizers): each spec reads as the
Optimizer built directly, writing one back reads back equal, and mistakes say what is wrong."""
import pytest

import relu_studio as rs
from relu_studio.core.optimizer_specs import (
    format_optimizer,
    format_optimizers,
    parse_optimizer,
    parse_optimizers,
)
from relu_studio.core.settings import SettingsError

O = rs.Optimizer


@pytest.mark.parametrize("text, want", [
    ("sgd", O()),
    ("SGD", O()),
    ("sgd lr=0.05", O("sgd", lr=0.05)),
    ("sgd 0.05 wd=1e-4", O("sgd", lr=0.05, weight_decay=1e-4)),
    ("momentum", O("momentum")),
    ("momentum 0.95", O("momentum", momentum=0.95)),
    ("momentum:momentum=0.9,nesterov=true", O("momentum", momentum=0.9, nesterov=True)),
    ("momentum dampening=0.3 lr = 0.01", O("momentum", dampening=0.3, lr=0.01)),
    ("nesterov", O("momentum", nesterov=True)),
    ("nesterov 0.8", O("momentum", momentum=0.8, nesterov=True)),
    ("adam 1e-3", O("adam", lr=1e-3)),
    ("adam:lr=3e-4,beta2=0.99,eps=1e-6", O("adam", lr=3e-4, betas=(0.9, 0.99), eps=1e-6)),
    ("adamw wd=0.05 beta1=0.8", O("adamw", weight_decay=0.05, betas=(0.8, 0.999))),
    ("rmsprop alpha=0.9 centered=yes momentum=0.5", O("rmsprop", alpha=0.9, centered=True, momentum=0.5)),
    ("rmsprop weight_decay=0 centered=off", O("rmsprop")),
])
def test_a_spec_reads_as_the_optimizer(text, want):
    assert parse_optimizer(text) == want
    assert parse_optimizers(text) == (want,)


def test_several_optimizers_in_one_line():
    assert parse_optimizers("sgd, momentum 0.9, adam lr=1e-3") == (O(), O("momentum"), O("adam", lr=1e-3))
    assert parse_optimizers("adam; sgd  adam") == (O("adam"), O())  # duplicates dropped, order kept


@pytest.mark.parametrize("opt", [
    O(), O("sgd", lr=0.05, weight_decay=1e-4), O("momentum"), O("momentum", momentum=0.95),
    O("momentum", nesterov=True), O("momentum", momentum=0.8, nesterov=True, lr=0.1),
    O("momentum", dampening=0.25), O("adam"), O("adam", lr=1 / 3, betas=(0.85, 0.95), eps=1e-7),
    O("adamw"), O("adamw", weight_decay=0.0), O("rmsprop", alpha=0.9, centered=True, momentum=0.5),
])
def test_written_back_it_reads_back_equal(opt):
    text = format_optimizer(opt)
    assert parse_optimizer(text) == opt, text
    assert parse_optimizers(format_optimizers([opt, O()])) == ((opt,) if opt == O() else (opt, O()))


def test_the_short_forms():
    assert format_optimizer(O()) == "sgd"
    assert format_optimizer(O("momentum")) == "momentum 0.9"
    assert format_optimizer(O("momentum", nesterov=True)) == "nesterov"
    assert format_optimizer(O("adam", lr=1e-3)) == "adam lr=0.001"


@pytest.mark.parametrize("text, message", [
    ("", "enter at least one optimizer"),
    ("adagrad", r"'adagrad': start with an optimizer's name \(sgd, momentum, adam, adamw, rmsprop, "
                r"nesterov\), not 'adagrad'"),
    ("adam lr=fast", "'adam lr=fast': lr must be a number, got 'fast'"),
    ("adam lr=nan", "lr must be a number, got 'nan'"),
    ("adam lr=", "a setting is key=value, got 'lr='"),
    ("adam speed=2", "unknown setting 'speed'"),
    ("adam momentum=0.9", "Adam has no setting 'momentum'"),
    ("momentum 1.2", r"the momentum must be a number in \(0, 1\), got 1.2"),
    ("adam lr=-1", "the learning rate must be a finite number > 0"),
    ("sgd 0.1 0.2", "'0.2' is not an optimizer"),
    ("adam lr=1 lr=2", "lr is given twice"),
    ("momentum nesterov=maybe", "nesterov must be true or false, got 'maybe'"),
    ("nesterov dampening=0.1", "Nesterov momentum requires zero dampening"),
    ("__import__('os')", "start with an optimizer's name"),
])
def test_mistakes_are_named(text, message):
    with pytest.raises(SettingsError, match=message) as info:
        parse_optimizers(text)
    assert info.value.field == "optimizers"


def test_one_item_holds_one_optimizer():
    with pytest.raises(SettingsError, match="one optimizer per item"):
        parse_optimizer("sgd adam")
    with pytest.raises(SettingsError, match="an optimizer must be text"):
        parse_optimizer(None)
