"""Many meta-analyses at once: :func:`pool_many`, vectorised, one row per analysis."""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .arrays import as_float
from .engine import check_options, fit_rows, pi_description
from .pooling import SCALAR_KEYS

__all__ = ["pool_many"]


def _to_padded(x, name):
    """2-D float array from a 2-D array or a list of 1-D arrays (ragged rows padded with NaN)."""
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return as_float(name, x)
    if isinstance(x, pd.DataFrame):
        return as_float(name, x.to_numpy())
    rows = [(as_float(name, r).ravel()) for r in x]
    width = max((r.size for r in rows), default=0)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, :r.size] = r
    return out


def pool_many(yi, vi, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
              level: float = 95.0, measure: str = "GEN",
              control: Mapping[str, float] | None = None, tau2_ci: bool = False) -> pd.DataFrame:
    """Fit many meta-analyses at once, vectorised; one row per analysis.

    Parameters
    ----------
    yi, vi : 2-D array-like or list of 1-D arrays
        One analysis per row. Ragged input: a list of arrays of different lengths, or a 2-D array
        padded with NaN (cells where yi or vi is NaN are not studies).
    method, ci, pi, level, control
        As for :func:`pool`.
    measure : str
        Label written to the ``measure`` column.
    tau2_ci : bool
        Add ``tau2_ci_low`` and ``tau2_ci_high`` (Q-profile) columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``k, measure, method, estimate, se, ci_low, ci_high, z, p, tau2, i2, h2, q, q_p,
        pi_low, pi_high`` (as :func:`pool`'s scalar keys), then ``level, ci_method, df, pi_method,
        pi_df`` (:data:`EXTRA_KEYS`: the defaults behind the numbers; ``df``/``pi_df`` are NaN
        where a normal quantile is used), then ``tau2_ci_low, tau2_ci_high`` if ``tau2_ci``.
        Under ``ci="hksj"`` ``z`` and ``p`` are the t statistic and its p (metafor's
        ``test="knha"``).

    Notes
    -----
    Same engine and formulas as :func:`pool` (see there for sources), applied to all rows with
    numpy: each Fisher-scoring or zeroin step updates every unfinished row at once, and rows stop
    individually by metafor's rule, so each row equals ``pool`` on that row to rounding (tested
    to 1e-8). Rows where Fisher scoring does not converge fall back one by one to bracketed root
    finding (rare: see docs/performance.md). NaN cells are treated as absent without a warning,
    since padding is how ragged input is given.
    """
    method, ctl = check_options(method, ci, pi, level, control)
    Y = _to_padded(yi, "yi")
    V = _to_padded(vi, "vi")
    if Y.shape != V.shape:
        raise InputError(f"yi and vi must have the same shape (got {Y.shape} and {V.shape})",
                         field="vi")
    if Y.ndim != 2 or Y.shape[0] == 0:
        raise InputError("pool_many needs at least one analysis (a 2-D array, one row each)")
    with np.errstate(all="ignore"):
        # common case first: every cell finite and every variance positive (three reductions
        # instead of a dozen elementwise passes; a NaN or inf anywhere makes a sum non-finite)
        dense = (Y.size > 0 and math.isfinite(Y.sum()) and math.isfinite(V.sum())
                 and V.min() > 0)
    if dense:
        M = np.ones(Y.shape, bool)
        res = fit_rows(Y, V, M, method, ci, pi, level, ctl, tau2_ci)
        return many_frame(res, measure, method, ci, pi, level, tau2_ci)
    M = ~(np.isnan(Y) | np.isnan(V))
    k = M.sum(axis=1)
    if (k == 0).any():
        rows = np.nonzero(k == 0)[0]
        raise InputError(f"analysis row(s) {', '.join(map(str, rows[:10].tolist()))} have no "
                         "studies (k = 0)")
    Yc = np.where(M, Y, 0.0)
    Vc = np.where(M, V, 1.0)
    bad = (M & (~np.isfinite(V) | (V <= 0))) | (M & ~np.isfinite(Y))
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise InputError("effect sizes must be finite and variances finite and positive; "
                         f"bad values in analysis row(s) {', '.join(map(str, rows[:10].tolist()))}",
                         field="vi")
    res = fit_rows(Yc, Vc, M, method, ci, pi, level, ctl, tau2_ci)
    return many_frame(res, measure, method, ci, pi, level, tau2_ci)


def many_frame(res, measure, method, ci, pi, level, tau2_ci) -> pd.DataFrame:
    """pool_many's DataFrame from the engine's arrays."""
    cols: dict[str, Any] = {"k": res["k"].astype(int), "measure": measure, "method": method}
    for key in SCALAR_KEYS[3:]:
        cols[key] = res[key]
    cols["level"] = float(level)
    cols["ci_method"] = ci
    cols["df"] = res["df"]
    cols["pi_method"] = pi_description(pi, ci)
    if pi == "t_k2":
        cols["pi_df"] = np.where(res["k"] >= 3, res["k"] - 2.0, np.nan)
    else:
        cols["pi_df"] = res["df"]
    if tau2_ci:
        cols["tau2_ci_low"] = res["tau2_ci_low"]
        cols["tau2_ci_high"] = res["tau2_ci_high"]
    return pd.DataFrame(cols)
