"""Effect sizes from counts, as metafor's ``escalc``: 2x2 tables (RR, OR, RD), one group's events
(PR, PLO, PFT, PAS) and events per person-time (IRR, IR), with escalc's continuity correction.

Formulas: :func:`evidencekit.stats.effects.effect_sizes`, Notes.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .arrays import as_array, check_positive, same_length

__all__ = ["two_by_two", "proportion", "rates"]


def _corrected_rows(cells: np.ndarray, add: float, to: str) -> tuple[np.ndarray, np.ndarray]:
    """escalc's continuity correction on a (k, c) array of counts: which rows get ``add``.

    "only0": rows with a zero cell; "all": every row; "if0all": every row if any row has a zero
    cell; "none": no row. Missing rows (NaN) are never corrected. Returns (corrected cells, mask).
    """
    zero = (cells == 0).any(axis=1)
    if to == "only0":
        corrected = zero
    elif to == "all":
        corrected = np.ones(cells.shape[0], bool)
    elif to == "if0all":
        corrected = np.full(cells.shape[0], bool(zero.any()))
    else:
        corrected = np.zeros(cells.shape[0], bool)
    corrected &= ~np.isnan(cells).any(axis=1)
    if add == 0:
        corrected = np.zeros(cells.shape[0], bool)  # nothing was added: nothing to name
    return cells + np.where(corrected, add, 0.0)[:, None], corrected


def _not_above(part_name: str, part: np.ndarray, total_name: str, total: np.ndarray) -> None:
    bad = np.nonzero(part > total)[0]
    if bad.size:
        raise InputError(f"{part_name} (events) is larger than {total_name} (group size) in "
                         f"study/studies {', '.join(str(i + 1) for i in bad)}; check the counts",
                         field=part_name)


def two_by_two(measure, args, add, to, drop00=False):
    """RR, OR and RD from a 2x2 table per study (formulas: :func:`effect_sizes`, Notes)."""
    ai = as_array("ai", args.get("ai"))
    ci = as_array("ci", args.get("ci"))
    cells_given = {}
    for cell, total, events in (("bi", "n1i", ai), ("di", "n2i", ci)):
        if args.get(cell) is not None:
            cells_given[cell] = as_array(cell, args[cell])
        elif args.get(total) is not None:
            n = as_array(total, args[total])
            same_length({"ai" if cell == "bi" else "ci": events, total: n})
            check_positive(total, n, allow_zero=True)
            _not_above("ai" if cell == "bi" else "ci", events, total, n)
            cells_given[cell] = n - events
        else:
            cells_given[cell] = as_array(cell, None)
    bi, di = cells_given["bi"], cells_given["di"]
    same_length({"ai": ai, "bi": bi, "ci": ci, "di": di})
    for n, a in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        check_positive(n, a, allow_zero=True)
    cells = np.column_stack([ai, bi, ci, di])
    if drop00:
        # escalc(drop00=TRUE): no events, or only events, in both groups: no effect size
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        cells[both] = np.nan
    cells, corrected = _corrected_rows(cells, add, to)
    a, b, c, d = cells.T
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    if measure == "RR":
        yi = np.log(p1) - np.log(p2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "OR":
        yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        yi = p1 - p2
        vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    return yi, vi, {"corrected": corrected}


def proportion(measure, args, add, to):
    """PR, PLO, PFT, PAS from events xi out of ni in one group (formulas: :func:`effect_sizes`)."""
    xi = as_array("xi", args.get("xi"))
    ni = as_array("ni", args.get("ni"))
    same_length({"xi": xi, "ni": ni})
    check_positive("xi", xi, allow_zero=True)
    check_positive("ni", ni)
    _not_above("xi", xi, "ni", ni)
    cells, corrected = _corrected_rows(np.column_stack([xi, ni - xi]), add, to)
    x, m = cells.T
    n = x + m
    p = x / n
    if measure == "PR":
        return p, p * (1 - p) / n, {"corrected": corrected}
    if measure == "PLO":
        return np.log(p / (1 - p)), 1 / x + 1 / m, {"corrected": corrected}
    if measure == "PAS":
        return np.arcsin(np.sqrt(p)), 1 / (4 * n), {"corrected": corrected}
    yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
    return yi, 1 / (4 * n + 2), {"corrected": corrected}


def rates(measure, args, names, add, to, drop00=False):
    """IRR from events and person-time in two groups, IR in one (formulas: :func:`effect_sizes`)."""
    a = {n: as_array(n, args.get(n)) for n in names}
    same_length(a)
    for n in names:
        if n.startswith("x"):
            check_positive(n, a[n], allow_zero=True)
        else:
            check_positive(n, a[n])
    if measure == "IR":
        cells, corrected = _corrected_rows(a["xi"][:, None], add, to)
        x = cells[:, 0]
        rate = x / a["ti"]
        return rate, rate / a["ti"], {"corrected": corrected}
    counts = np.column_stack([a["x1i"], a["x2i"]])
    if drop00:
        counts[(a["x1i"] == 0) & (a["x2i"] == 0)] = np.nan
    counts, corrected = _corrected_rows(counts, add, to)
    x1, x2 = counts.T
    yi = np.log(x1 / a["t1i"]) - np.log(x2 / a["t2i"])
    return yi, 1 / x1 + 1 / x2, {"corrected": corrected}
