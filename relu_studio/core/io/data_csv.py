"""Data points as CSV files: ``x,y`` rows, read (a header row optional) and written exactly."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..dataset import DataError, Dataset, validated_points

__all__ = ["load_csv", "data_to_csv", "CSV_HEADER"]

CSV_HEADER = "x,y"


def data_to_csv(data: Dataset) -> str:
    """The training points (hand edits included) as CSV text with an ``x,y`` header.

    Full float64 precision: :func:`load_csv` reads the text back to the same points bit for bit.
    """
    buf = io.StringIO()
    buf.write(CSV_HEADER + "\n")
    for xi, yi in zip(data.x.tolist(), data.y.tolist()):
        buf.write(f"{xi!r},{yi!r}\n")
    return buf.getvalue()


def load_csv(path_or_text, *, is_text: bool = False) -> Dataset:
    """Read ``x,y`` points from a CSV file (a header row is optional; extra columns are refused).

    The test set is the training set itself (a file has no ground truth).
    """
    if is_text:
        text, name = str(path_or_text), "the CSV text"
    else:
        path = Path(path_or_text)
        name = path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror or exc}") from None
        if len(raw) > 200 * 1024 * 1024:
            raise DataError(f"{name} is too large for a data set")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{name} is not a UTF-8 text file") from None
    xs, ys = [], []
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    for lineno, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise DataError(f"{name}, line {lineno}: expected two columns x,y, found {len(cells)}")
        try:
            xv, yv = float(cells[0]), float(cells[1])
        except ValueError:
            if not xs:  # a header row
                continue
            raise DataError(f"{name}, line {lineno}: '{cells[0]},{cells[1]}' is not a pair of numbers") from None
        xs.append(xv)
        ys.append(yv)
    if not xs:
        raise DataError(f"{name} contains no x,y points")
    try:
        x, y = validated_points(xs, ys)
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    return Dataset(x, y, x.copy(), y.copy(), target=None, noise=0.0, seed=None, source="csv")
