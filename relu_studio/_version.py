"""The version of ReLU Studio: the one place it is written.

pyproject.toml reads it (``[tool.setuptools.dynamic]``), ``relu_studio.__version__`` re-exports it,
and build.spec / scripts/release.sh read it for the bundle's VERSION file and archive name. This
module imports nothing, so reading it is cheap.
"""
__version__ = "0.1.0"
