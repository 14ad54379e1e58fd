"""The pure core of ReLU Studio: data, network, training, ridge, experiments. Never imports Qt.

The public names below are loaded on first use (PEP 562), so that importing the package (or
``relu_studio.core.version``) loads neither numpy nor numba.
"""
from __future__ import annotations

import importlib

#: Public name -> the module of the core that defines it.
_API = {
    **dict.fromkeys(("DataError", "Dataset", "make_dataset"), "dataset"),
    "load_csv": "io.data_csv",
    **dict.fromkeys(("FormulaError", "parse_formula"), "formula"),
    **dict.fromkeys(("Network", "init_network"), "network"),
    **dict.fromkeys(("DEFAULT_LAMBDA", "fit_ridge", "ridge_coefficients", "ridge_features"), "ridge"),
    **dict.fromkeys(("PRESETS", "Target", "get_target"), "targets"),
    **dict.fromkeys(("DEFAULT_LR", "MODES", "Run", "Trainer", "TrainingError", "TrainSettings",
                     "train", "train_chunks"), "training"),
    **dict.fromkeys(("ExperimentResult", "run_experiment", "grid_key"), "experiment"),
    "train_batch": "batch_training",
    **dict.fromkeys(("Optimizer", "OPTIMIZERS"), "optimizers"),
    **dict.fromkeys(("Activation", "ACTIVATIONS"), "activations"),
    **dict.fromkeys(("Loss", "LOSSES"), "losses"),
    **dict.fromkeys(("parse_optimizer", "parse_optimizers", "format_optimizer"), "optimizer_specs"),
    "results_table": "summary",
    **dict.fromkeys(("Init", "INITS", "make_network"), "inits"),
    "ResumePoint": "run_resume",
    # the theory lens
    **dict.fromkeys(("gradients", "elbow_velocity"), "lens.gradients"),
    **dict.fromkeys(("jacobian", "gradient_features"), "lens.gradient_features"),
    **dict.fromkeys(("ridge_distance", "ridge_distances"), "lens.ridge_distance"),
    **dict.fromkeys(("loss_slice", "parameter_path"), "lens.loss_slice"),
}

__all__ = list(_API)
_SUBMODULES = ("activations", "arrays", "batch_training", "dataset", "editing", "experiment", "formula", "geometry",
               "history", "io", "lens", "losses", "network", "optimizer_specs", "optimizers", "process", "report", "ridge", "settings", "studio",
               "summary", "targets", "training", "version")


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        if name in _SUBMODULES:  # relu_studio.core.ridge etc. without importing them first
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
