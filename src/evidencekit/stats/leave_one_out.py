"""Leave-one-out refits (metafor's ``leave1out``): the model k times, each without one study."""
from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .batch import many_frame, pool_many
from .arrays import as_float, check_values
from .distributions import chi2_sf, critical_value, norm_sf, t_sf
from .engine import MissingDataWarning, check_options
from .pooling import unpack_effects

__all__ = ["leave_one_out", "LOO_CHUNK_CELLS"]


#: Estimators whose leave-one-out tau² has a closed form from the full data's sums (O(k) memory
#: and O(k) work for tau²; the random-effects pass is then one chunked O(k²) product).
_CLOSED_FORM_LOO = ("FE", "DL", "HS", "HE")
#: Cells (rows x studies) per chunk of leave-one-out refits: bounds the working memory at about
#: 20 arrays of this many floats (~0.3 GB) whatever k is.
LOO_CHUNK_CELLS = 2_000_000


def leave_one_out(yi, vi=None, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
                  level: float = 95.0, labels: Sequence[str] | None = None,
                  control: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Refit the model k times, each time leaving one study out (metafor's ``leave1out``).

    Returns a DataFrame indexed by the omitted study with the :func:`pool_many` columns
    (estimate, se, ci_low, ci_high, z, p, tau2, i2, h2, q, q_p, pi_low, pi_high).

    Notes
    -----
    A sensitivity analysis: how much the pooled result rests on any one study (Cochrane Handbook
    10.14; Viechtbauer & Cheung 2010, Res Synth Methods 1:112, as metafor's ``leave1out``). Each
    row is the same model as :func:`pool` on the other k - 1 studies, with the formulas given
    there. Memory is O(k) whatever the method:

    - FE, DL, HS, HE: the leave-one-out sums follow from the full sums by deletion, S_(-i) =
      S - w_i, and Q_(-i) = Q - w_i S1/(S1 - w_i) (y_i - mu)² (the weighted sum of squares
      without one point; Chan, Golub & LeVeque 1983), so tau²_(-i) is closed-form; the common-
      effect fit is then O(k) in all. The random-effects estimate needs sum_(j != i)
      1/(v_j + tau²_(-i)) per i, one (rows x k) matrix product per chunk of rows.
    - REML, ML, EB, PM, SJ (iterative or weighted at their own tau²): :func:`pool_many` on
      chunks of at most ``LOO_CHUNK_CELLS`` cells, each row the k - 1 other studies.

    Needs k >= 2.
    """
    yi, vi, _, es_labels = unpack_effects(yi, vi, None)
    method, ctl = check_options(method, ci, pi, level, control)
    y = as_float("yi", yi).ravel()
    v = as_float("vi", vi).ravel()
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    keep = ~(np.isnan(y) | np.isnan(v))
    labels = list(labels if labels is not None else (es_labels or range(1, y.size + 1)))
    if not keep.all():
        warnings.warn("studies with missing yi or vi left out: "
                      + ", ".join(str(labels[i]) for i in np.nonzero(~keep)[0]),
                      MissingDataWarning, stacklevel=2)
        y, v = y[keep], v[keep]
        labels = [s for s, m in zip(labels, keep) if m]
    k = y.size
    if k < 2:
        raise InputError(f"leave-one-out needs at least 2 studies (k = {k})")
    check_values(y, v)
    if method in _CLOSED_FORM_LOO and k >= 3:
        frame = _loo_closed_form(y, v, method, ci, pi, level)
    else:
        rows = max(1, LOO_CHUNK_CELLS // max(1, k - 1))
        parts = []
        for start in range(0, k, rows):
            omit = np.arange(start, min(k, start + rows))
            # row r holds every study but omit[r]: column j maps to study j + (j >= omit[r])
            cols = np.arange(k - 1)[None, :]
            idx = cols + (cols >= omit[:, None])
            parts.append(pool_many(y[idx], v[idx], method=method, ci=ci, pi=pi, level=level,
                                   control=control))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame.index = pd.Index([str(s) for s in labels], name="omitted")
    return frame


def _loo_closed_form(y, v, method, ci, pi, level):
    """Leave-one-out fits for FE, DL, HS and HE in O(k) memory (see :func:`leave_one_out`)."""
    k = y.size
    kk = float(k - 1)  # studies in each fit
    with np.errstate(all="ignore"):
        w = 1.0 / v
        s1 = w.sum()
        s2 = (w * w).sum()
        mu = (w * y).sum() / s1
        q_full = (w * (y - mu) ** 2).sum()
        s1_i = s1 - w
        s2_i = s2 - w * w
        mu_i = (s1 * mu - w * y) / s1_i
        q_i = np.maximum(q_full - w * s1 / s1_i * (y - mu) ** 2, 0.0)
        if method == "FE":
            tau2 = np.zeros(k)
        elif method == "DL":
            tau2 = (q_i - (kk - 1)) / (s1_i - s2_i / s1_i)
        elif method == "HS":
            tau2 = (q_i - kk) / s1_i
        else:  # HE: unweighted sums, deleted the same way
            ybar = y.mean()
            rss = ((y - ybar) ** 2).sum()
            rss_i = np.maximum(rss - k / kk * (y - ybar) ** 2, 0.0)
            tau2 = (rss_i - (v.sum() - v) * (kk - 1) / kk) / (kk - 1)
        tau2 = np.maximum(np.nan_to_num(tau2, nan=0.0), 0.0)
        if method == "FE":
            sw, est = s1_i, mu_i
            rss_re = q_i
        else:
            sw = np.empty(k)
            swy = np.empty(k)
            rss_re = np.empty(k) if ci == "hksj" else None
            rows = max(1, LOO_CHUNK_CELLS // k)
            basis = np.column_stack([np.ones(k), y])
            for start in range(0, k, rows):
                sl = slice(start, min(k, start + rows))
                W = 1.0 / (v[None, :] + tau2[sl, None])
                idx = np.arange(sl.start, sl.stop)
                W[idx - start, idx] = 0.0  # the omitted study
                sums = W @ basis
                sw[sl], swy[sl] = sums[:, 0], sums[:, 1]
                if rss_re is not None:
                    r = y[None, :] - (sums[:, 1] / sums[:, 0])[:, None]
                    rss_re[sl] = (W * r * r).sum(axis=1)
            est = swy / sw
        vtyp = (kk - 1) * s1_i / (s1_i * s1_i - s2_i)
        if method == "FE":
            i2 = np.where(q_i > 0, 100 * np.maximum(0.0, (q_i - (kk - 1)) / q_i), 0.0)
            h2 = q_i / (kk - 1)
        else:
            i2 = 100 * tau2 / (vtyp + tau2)
            h2 = (vtyp + tau2) / vtyp
        q_p = chi2_sf(q_i, kk - 1)
        df = np.full(k, np.nan)
        if ci == "hksj":
            se = np.sqrt(rss_re / (kk - 1) / sw)
            df = np.full(k, kk - 1)
            crit = critical_value(level, df)
            zval = est / se
            pval = 2 * t_sf(np.abs(zval), df)
        else:
            se = np.sqrt(1.0 / sw)
            crit = np.full(k, critical_value(level))
            zval = est / se
            pval = 2 * norm_sf(np.abs(zval))
        if pi == "t_k2":
            pcrit = critical_value(level, kk - 2) if kk - 2 >= 1 else np.nan
        else:
            pcrit = crit
        half = pcrit * np.sqrt(se * se + tau2)
    res = {"k": np.full(k, k - 1), "estimate": est, "se": se, "ci_low": est - crit * se,
           "ci_high": est + crit * se, "z": zval, "p": pval, "df": df, "tau2": tau2, "i2": i2,
           "h2": h2, "q": q_i, "q_p": q_p, "pi_low": est - half, "pi_high": est + half}
    return many_frame(res, "GEN", method, ci, pi, level, False)
