"""The optimizer as an axis of the experiment grid: every cell is the run rs.train gives with that
optimizer (bit for bit, whichever path trained it), ridge is fitted once per width and seed,
cancel keeps finished non-SGD runs, and GridSettings carries the axis through JSON (a grid saved
before the axis is plain SGD) with messages naming the bad optimizer."""
import threading

import pytest

import relu_studio as rs
from relu_studio.core.batch_training import LANES
from relu_studio.core.experiment import (
    PROGRESS_CHUNK,
    experiment_from_runs,
    grid_key,
    needs_single_run,
)
from relu_studio.core.settings import MAX_GRID_OPTIMIZERS, GridSettings, SettingsError
from relu_studio.core.training import TrainSettings

RUN_ARRAYS = ("steps", "train_error", "full_train_error", "test_error", "w1", "b1", "w2", "b2")
SGD = rs.Optimizer()
#: Every update rule, one of them plain SGD at its own lr (batched with the mode-lr SGD lanes).
AXIS = (SGD, rs.Optimizer("sgd", lr=0.05), rs.Optimizer("momentum", nesterov=True),
        rs.Optimizer("adam", lr=3e-3), rs.Optimizer("rmsprop", centered=True))


@pytest.fixture(scope="module")
def data():
    return rs.make_dataset("piecewise_linear", 200, 0.1, 1)


def identical(a, b):
    return all(getattr(a, k).tobytes() == getattr(b, k).tobytes() for k in RUN_ARRAYS)


@pytest.mark.parametrize("seeds", [2, LANES])
def test_every_cell_is_rs_train_with_its_optimizer_bit_for_bit(data, seeds):
    """With 2 seeds every run trains one per thread; with LANES seeds the plain-SGD cells train
    as the lanes of the batched kernel and the others one per thread. Either way each cell is
    rs.train of the same initial network and seed with that optimizer."""
    res = rs.run_experiment(data, widths=(3, 6), seeds=seeds, steps=200, save_every=50,
                            optimizers=AXIS, jobs=2)
    assert res.complete and not res.cancelled and res.optimizers == AXIS
    for o in AXIS:
        for w in (3, 6):
            for m in ("output", "all"):
                for s in sorted({0, seeds - 1}):
                    run = res.runs[grid_key(w, m, o, s)]
                    want = rs.train(rs.init_network(w, s), data, mode=m, steps=200, save_every=50,
                                    seed=s, optimizer=o)
                    assert identical(run, want), (w, m, o, s)
                    assert run.initial is res.initial[(w, s)]
                    assert run.settings.lr == want.settings.lr
    # the learning rates each optimizer trained with: its own, torch's default, or the mode's
    assert res.run(3, "all", AXIS[1], 0).settings.lr == 0.05
    assert res.run(3, "output", AXIS[2], 0).settings.lr == rs.DEFAULT_LR["output"]
    assert res.run(3, "output", AXIS[3], 0).settings.lr == 3e-3
    assert res.run(3, "all", AXIS[4], 0).settings.lr == 1e-2


def test_ridge_is_fitted_once_per_width_and_seed(data):
    opts = (SGD, rs.Optimizer("adam"), rs.Optimizer("momentum"))
    res = rs.run_experiment(data, widths=(3, 5), modes=("all", "ridge"), seeds=2, steps=50,
                            save_every=10, optimizers=opts)
    ridge = [k for k in res.runs if k[1] == "ridge"]
    assert sorted(ridge) == [(w, "ridge", None, s) for w in (3, 5) for s in (0, 1)]
    assert len(res.runs) == 2 * 2 * (len(opts) + 1)
    assert res.columns == (("all", opts[0]), ("all", opts[1]), ("all", opts[2]), ("ridge", None))
    assert GridSettings(widths=(3, 5), modes=("all", "ridge"), seeds=2, optimizers=opts).run_count \
        == len(res.runs)
    rows = rs.results_table(res)
    assert [(r["width"], r["mode"], r["optimizer"]) for r in rows] == [
        (w, m, label) for w in (3, 5) for m, label in
        (("all", "SGD lr 0.02"), ("all", "Adam lr 0.001"), ("all", "momentum 0.9 lr 0.02"), ("ridge", ""))]
    # a ridge cell is found whatever optimizer is asked for
    assert res.cell(5, "ridge", opts[1]) == res.cell(5, "ridge") == [res.runs[(5, "ridge", None, s)]
                                                                      for s in (0, 1)]


def test_cancel_mid_grid_keeps_the_finished_optimizer_runs(data):
    """One thread, Adam and momentum cells only: cancelling when the first run finished keeps that
    run (equal to rs.train) and the ridge cells; no other run is kept half-trained."""
    cancel = threading.Event()
    steps = 2 * PROGRESS_CHUNK
    opts = (rs.Optimizer("adam"), rs.Optimizer("momentum"))

    def progress(done, total):
        if done >= steps:
            cancel.set()

    res = rs.run_experiment(data, widths=(4,), modes=("output", "all", "ridge"), seeds=1,
                            steps=steps, save_every=5000, jobs=1, cancel=cancel,
                            progress=progress, optimizers=opts)
    assert res.cancelled and not res.complete
    trained = [k for k in res.runs if k[1] != "ridge"]
    assert len(trained) == 1
    (key,) = trained
    w, m, o, s = key
    assert o in opts and needs_single_run(res.runs[key].settings)
    want = rs.train(rs.init_network(w, s), data, mode=m, steps=steps, save_every=5000, seed=s,
                    optimizer=o)
    assert identical(res.runs[key], want) and res.runs[key].completed_steps == steps
    assert (4, "ridge", None, 0) in res.runs
    assert len(rs.results_table(res)) == 2


def test_needs_single_run_is_every_optimizer_but_plain_sgd():
    assert not needs_single_run(TrainSettings("all"))
    assert not needs_single_run(TrainSettings("all", optimizer=rs.Optimizer("sgd", lr=0.1)))
    assert needs_single_run(TrainSettings("all", optimizer=rs.Optimizer("sgd", weight_decay=1e-3)))
    for name in ("momentum", "adam", "adamw", "rmsprop"):
        assert needs_single_run(TrainSettings("output", optimizer=rs.Optimizer(name)))


def test_needs_single_run_is_also_every_activation_but_relu_and_every_loss_but_mse():
    assert needs_single_run(TrainSettings("all", loss=rs.Loss("mae")))
    assert not needs_single_run(TrainSettings("all", loss=rs.Loss("mse")), rs.Activation("relu"))
    for name in rs.ACTIVATIONS[1:]:
        assert needs_single_run(TrainSettings("all"), rs.Activation(name))


@pytest.mark.parametrize("activation, loss", [(rs.Activation("leaky_relu", slope=0.1), None),
                                              (rs.Activation("relu"), rs.Loss("mae")),
                                              (rs.Activation("tanh"), rs.Loss("huber", delta=0.3))])
def test_a_grid_of_another_activation_or_loss_is_rs_train_with_them(data, activation, loss):
    """LANES seeds of plain SGD would train in the batched ReLU/MSE kernel: with another
    activation or loss they train one per thread, each cell rs.train with those choices; the
    grid's settings and every initial network carry them; ridge fits that activation's features."""
    res = rs.run_experiment(data, widths=(3,), seeds=LANES, steps=120, save_every=40, jobs=2,
                            activation=activation, loss=loss)
    assert res.settings.activation == activation and res.settings.loss == (loss or rs.Loss())
    for s in (0, LANES - 1):
        net = rs.init_network(3, s).replace(activation=activation)
        assert res.initial[(3, s)].equals(net)
        for m in ("output", "all"):
            want = rs.train(net, data, mode=m, steps=120, save_every=40, seed=s, loss=loss)
            assert identical(res.runs[grid_key(3, m, SGD, s)], want), (m, s)
        ridge = res.runs[grid_key(3, "ridge", None, s)]
        assert ridge.final.equals(rs.fit_ridge(net, data))


def test_a_grid_rebuilt_from_runs_keeps_its_optimizers(data):
    opts = (rs.Optimizer("adam"), SGD)
    res = rs.run_experiment(data, widths=(3,), modes=("all", "ridge"), seeds=1, steps=30,
                            save_every=10, optimizers=opts)
    back = experiment_from_runs(data, res.runs, settings=res.settings)
    assert back.optimizers == opts and back.runs == res.runs and not back.cancelled
    back = experiment_from_runs(data, res.runs)  # without settings: as the runs list them
    assert set(back.optimizers) == set(opts) and back.runs == res.runs and not back.cancelled
    # keys (width, mode, seed) of a file written before the axis: the grid's first optimizer
    old = {(3, "all", 0): res.run(3, "all", SGD, 0), (3, "ridge", 0): res.run(3, "ridge", None, 0)}
    back = experiment_from_runs(data, old)
    assert back.optimizers == (SGD,) and set(back.runs) == {(3, "all", SGD, 0), (3, "ridge", None, 0)}


def test_bad_optimizer_axes_fail_before_any_work(data):
    for axis, match in ((("adam",), "every optimizer must be a relu_studio Optimizer"),
                        ((), "choose at least one optimizer")):
        with pytest.raises(rs.TrainingError, match=match):
            rs.run_experiment(data, widths=(3,), steps=10, optimizers=axis)
    with pytest.raises(rs.TrainingError, match="not both"):
        rs.run_experiment(data, widths=(3,), steps=10, optimizer=rs.Optimizer("adam"),
                          optimizers=(SGD,))


# --------------------------------------------------------------------------- GridSettings
def test_grid_settings_carry_the_optimizers_through_json():
    opts = (SGD, rs.Optimizer("momentum", momentum=0.8, nesterov=True),
            rs.Optimizer("adamw", lr=1e-3, betas=(0.8, 0.99), weight_decay=0.05))
    g = GridSettings(optimizers=opts).validated()
    text = g.to_json()
    assert text["optimizers"] == [o.to_dict() for o in opts]
    assert GridSettings.from_json(text) == g
    # a grid saved before the optimizer axis: the notebook's SGD only
    old = {k: v for k, v in text.items() if k != "optimizers"}
    assert GridSettings.from_json(old).optimizers == (SGD,) == GridSettings().optimizers
    # duplicates are dropped, the order kept
    assert GridSettings(optimizers=(opts[1], SGD, opts[1])).validated().optimizers == (opts[1], SGD)


@pytest.mark.parametrize("value, match", [
    ("adam", "'optimizers' must be a list"),
    ([{"name": "sgd"}, {"name": "adagrad"}], "optimizer 2 of the grid: the optimizer must be one of"),
    ([{"name": "adam", "momentum": 0.9}], "optimizer 1 of the grid: Adam has no setting 'momentum'"),
    ([{"name": "adam", "speed": 1}], "optimizer 1 of the grid: unknown optimizer settings: speed"),
    (["sgd"], "optimizer 1 of the grid: an optimizer must be a JSON object"),
    ([], "choose at least one optimizer"),
    ([{"name": "adam", "lr": k / 10} for k in range(1, MAX_GRID_OPTIMIZERS + 2)],
     f"at most {MAX_GRID_OPTIMIZERS} optimizers"),
])
def test_bad_optimizers_in_json_are_refused_clearly(value, match):
    with pytest.raises(SettingsError, match=match) as info:
        GridSettings.from_json({**GridSettings().to_json(), "optimizers": value})
    assert info.value.field == "optimizers"


def test_grid_settings_carry_activation_and_loss_through_json():
    g = GridSettings(activation=rs.Activation("elu", alpha=0.5), loss=rs.Loss("huber", delta=2.0))
    back = GridSettings.from_json(g.to_json())
    assert back.activation == g.activation and back.loss == g.loss
    old = {k: v for k, v in g.to_json().items() if k not in ("activation", "loss")}
    assert GridSettings.from_json(old).activation == rs.Activation()  # a grid saved before them
    assert GridSettings.from_json(old).loss == rs.Loss()
    with pytest.raises(SettingsError, match="the activation must be one of"):
        GridSettings.from_json({**g.to_json(), "activation": {"name": "swish"}})
    with pytest.raises(SettingsError, match="Huber's delta must be a finite number > 0"):
        GridSettings.from_json({**g.to_json(), "loss": {"name": "huber", "delta": -1}})
