"""The pure core of ReLU Studio: data, network, training, ridge, experiments. Never imports Qt."""
from .dataset import DataError, Dataset, load_csv, make_dataset
from .formula import FormulaError, parse_formula
from .network import Network, init_network
from .ridge import DEFAULT_LAMBDA, fit_ridge, ridge_coefficients, ridge_features
from .targets import PRESETS, Target, get_target
from .training import DEFAULT_LR, MODES, Run, Trainer, TrainingError, TrainSettings, train, train_chunks

__all__ = [
    "DataError", "Dataset", "load_csv", "make_dataset", "FormulaError", "parse_formula",
    "Network", "init_network", "DEFAULT_LAMBDA", "fit_ridge", "ridge_coefficients",
    "ridge_features", "PRESETS", "Target", "get_target", "DEFAULT_LR", "MODES", "Run", "Trainer",
    "TrainingError", "TrainSettings", "train", "train_chunks",
]
