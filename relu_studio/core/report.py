"""The results table as text: the CLI's printout, the Compare view's cells and ``results.csv``."""
from __future__ import annotations

from .summary import METRICS, results_table

__all__ = ["table_headers", "table_cells", "format_stat", "format_table", "TABLE_KINDS",
           "results_csv", "results_csv_columns", "write_results_csv"]


def table_headers(kind: str = "final") -> list[str]:
    """Column titles of the results table (the CLI's printout and the Compare view's table)."""
    return ["width", "mode", "optimizer", "seeds"] + [f"{kind} {label} MSE" for _a, label in METRICS]


def format_stat(stats: dict, seeds: int) -> str:
    """One table cell: the median, with ``[q25, q75]`` when there are several seeds."""
    return (f"{stats['median']:.4g}" if seeds == 1 else
            f"{stats['median']:.4g} [{stats['q25']:.3g}, {stats['q75']:.3g}]")


def table_cells(row: dict, kind: str = "final") -> list[str]:
    """The text cells of one row of :func:`results_table`, as :func:`format_table` prints them."""
    cells = [str(row["width"]), row["mode"], row.get("optimizer", ""), str(row["seeds"])]
    for attr, _label in METRICS:
        cells.append(format_stat(row[f"{kind}_{attr}"], row["seeds"]))
    if row.get("diverged"):
        cells[1] += f" ({row['diverged']} diverged)"
    return cells


def format_table(rows: list[dict], kind: str = "final") -> str:
    """A plain-text table: median [q25, q75] of each metric per width, mode and optimizer."""
    heads = table_headers(kind)
    body = [table_cells(r, kind) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
    line = lambda cells: "  ".join(c.ljust(widths[i]) if i in (1, 2) else c.rjust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
    out = [line(heads), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)


# --------------------------------------------------------------------------- results as CSV
#: The kinds of summary in the results table: the last snapshot's error, or the lowest seen.
TABLE_KINDS = ("final", "best")
#: Column-name stems of the metrics in ``results.csv`` (the CLI's file and the Compare view's export).
CSV_METRIC_NAMES = (("train_error", "train"), ("full_train_error", "full_train"), ("test_error", "test"))
CSV_STATS = ("median", "q25", "q75")


def results_csv_columns() -> list[str]:
    """``width, mode, optimizer, activation, loss, seeds``, then ``{metric}_{kind}_{stat}`` for
    every metric, kind and stat, then ``diverged``. ``optimizer`` is the cell's label (``"Adam lr
    0.001"``; empty for ridge), ``activation`` and ``loss`` its runs' (``"ReLU"``, ``"MSE"``; no
    loss for ridge)."""
    head = ["width", "mode", "optimizer", "activation", "loss", "seeds"]
    for _attr, name in CSV_METRIC_NAMES:
        for kind in TABLE_KINDS:
            head += [f"{name}_{kind}_{stat}" for stat in CSV_STATS]
    head.append("diverged")
    return head


def _csv_text(text: str) -> str:
    """A text cell, quoted if it holds a comma or a quote (RFC 4180)."""
    return f'"{text.replace(chr(34), 2 * chr(34))}"' if any(c in text for c in ',"\n') else text


def results_csv(rows: list[dict]) -> str:
    """The rows of :func:`results_table` as CSV text, every number at full float64 precision."""
    lines = [",".join(results_csv_columns())]
    for r in rows:
        cells = [str(r["width"]), r["mode"],
                 *(_csv_text(r.get(k, "")) for k in ("optimizer", "activation", "loss")), str(r["seeds"])]
        for attr, _name in CSV_METRIC_NAMES:
            for kind in TABLE_KINDS:
                stats = r[f"{kind}_{attr}"]
                cells += [repr(float(stats[stat])) for stat in CSV_STATS]
        cells.append(str(r.get("diverged", 0)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_results_csv(result_or_rows, path):
    """Write :func:`results_csv` of an :class:`ExperimentResult` (or of its table rows) to
    ``path`` atomically; returns the path."""
    from .io.atomic import atomic_write_text

    rows = result_or_rows if isinstance(result_or_rows, list) else results_table(result_or_rows)
    return atomic_write_text(path, results_csv(rows))
