"""Runs per block of the batched kernel: its SIMD dimension, a compile-time constant of
:mod:`._batch_kernels` and the block size of :mod:`.batch_training` (a block of fewer runs is
padded with copies of its first run). A module of its own, so neither imports the other for it."""

LANES = 16
