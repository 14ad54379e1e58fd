"""Data points as CSV files: ``x,y`` rows, read (a header row optional) and written exactly."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from ..budget import BudgetError, check_regular_file
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


#: The largest CSV file read as data (a million points at full precision is about 40 MB).
MAX_CSV_BYTES = 200 * 1024**2
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+([eE][-+]?\d+)?$")
#: A row of two numbers with decimal commas, separated by a semicolon, a tab or spaces.
_DECIMAL_COMMA_ROW = re.compile(r"^\s*[-+]?\d+,\d+([eE][-+]?\d+)?\s*[;\t ]\s*[-+]?\d+(,\d+)?([eE][-+]?\d+)?\s*$")


def load_csv(path_or_text, *, is_text: bool = False) -> Dataset:
    """Read ``x,y`` points from a CSV file (the first row may be a header; extra columns are
    refused). The test set is the training set itself (a file has no ground truth).

    Refused with a :class:`DataError` naming the file and the line: a folder, FIFO or device, a
    file over :data:`MAX_CSV_BYTES` (before it is read), text that is not UTF-8, a row that is not
    two numbers (after the first), numbers written with decimal commas, values beyond float32's
    range (they would become infinite in the network), and a file with no points.
    """
    if is_text:
        text, name = str(path_or_text), "the CSV text"
    else:
        path = Path(path_or_text)
        name = path.name
        try:
            check_regular_file(path, name, MAX_CSV_BYTES)
            raw = path.read_bytes()
        except BudgetError as exc:
            raise DataError(str(exc)) from None
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror or exc}") from None
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
    for lineno, line in enumerate(text.splitlines()[:50], start=1):
        if _DECIMAL_COMMA_ROW.match(line):
            raise DataError(f"{name}, line {lineno}: '{line.strip()}' uses decimal commas; write "
                            "numbers with decimal points (0.5), separated by commas")
    first = True
    lineno = 0
    try:
        for lineno, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            cells = [c.strip() for c in row if c.strip() != ""]
            if not cells or cells[0].startswith("#"):
                continue
            if any(_DECIMAL_COMMA.match(c) for c in cells):
                raise DataError(f"{name}, line {lineno}: '{';'.join(cells)}' uses decimal commas; "
                                "write numbers with decimal points (0.5), separated by commas")
            if len(cells) != 2:
                raise DataError(f"{name}, line {lineno}: expected two columns x,y, found {len(cells)}")
            try:
                xv, yv = float(cells[0]), float(cells[1])
            except ValueError:
                if first:  # a header row
                    first = False
                    continue
                raise DataError(f"{name}, line {lineno}: '{cells[0]},{cells[1]}' is not a pair of "
                                "numbers") from None
            first = False
            xs.append(xv)
            ys.append(yv)
    except csv.Error as exc:  # e.g. a field longer than csv's limit (131 072 characters)
        raise DataError(f"{name}, line {lineno + 1}: not readable as CSV ({exc})") from None
    if not xs:
        raise DataError(f"{name} contains no x,y points")
    try:
        x, y = validated_points(xs, ys)
    except DataError as exc:
        raise DataError(f"{name}: {exc}") from None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    return Dataset(x, y, x.copy(), y.copy(), target=None, noise=0.0, seed=None, source="csv")
