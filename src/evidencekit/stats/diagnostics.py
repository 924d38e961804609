"""Influence diagnostics and cumulative meta-analysis, as R metafor's ``influence()`` and ``cumul()``.

Both refit the random-effects (or common-effect) model on subsets of the studies: without each
study in turn (:func:`influence`, through :func:`evidencekit.stats.leave_one_out.leave_one_out`) or on the
first 1, 2, ..., k studies in a given order (:func:`cumulative`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .batch import pool_many
from .leave_one_out import LOO_CHUNK_CELLS, leave_one_out
from .pooling import pool

__all__ = ["InfluenceResult", "influence", "cumulative"]

#: The columns of :meth:`InfluenceResult.to_frame`, metafor's names with ``.`` as ``_``.
INFLUENCE_COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat",
                     "weight", "dfbetas", "influential")


@dataclass(frozen=True, slots=True)
class InfluenceResult:
    """Case diagnostics per study (metafor ``influence.rma.uni``), frozen.

    ``influential`` flags a study as metafor marks it with ``*``: |dffits| > 3 sqrt(p/(k-p)),
    P(chi²_1 <= cook_d) > 0.5, hat > 3p/k or |dfbetas| > 1 (p = 1 for a model without moderators).
    """

    method: str
    labels: tuple[str, ...]
    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per study: :data:`INFLUENCE_COLUMNS`."""
        return self.frame.copy()

    def summary(self) -> str:
        flagged = [s for s, f in zip(self.labels, self.frame["influential"]) if f]
        head = (f"Influence diagnostics ({self.method}), {len(self.labels)} studies; "
                f"influential: {', '.join(flagged) if flagged else 'none'}")
        return head + "\n" + self.frame.to_string(float_format=lambda x: f"{x:.4f}")


def influence(yi, vi, *, method: str = "REML", labels: Sequence[str] | None = None
              ) -> InfluenceResult:
    """Influence diagnostics for each study, as metafor's ``influence(rma(yi, vi, method=...))``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (complete pairs; k >= 3).
    method : str
        tau² estimator (or "FE"), as :func:`evidencekit.stats.pooling.pool`; Wald (z) tests, metafor's
        default.
    labels : sequence of str, optional

    Notes
    -----
    Viechtbauer & Cheung (2010), Res Synth Methods 1:112; metafor ``influence.rma.uni``. With the
    full fit (mu, se, tau²; w_i = 1/(v_i + tau²)) and the fit without study i (mu_(-i), se_(-i),
    tau²_(-i), QE_(-i)): hat_i = w_i / sum w; rstudent_i = (y_i - mu_(-i)) /
    sqrt(v_i + tau²_(-i) + se_(-i)²); dffits_i = (mu - mu_(-i)) / sqrt(hat_i (tau²_(-i) + v_i));
    cook_d_i = (mu - mu_(-i))² / se²; cov_r_i = se_(-i)² / se²; dfbetas_i = (mu - mu_(-i)) /
    sqrt(1 / sum_j 1/(v_j + tau²_(-i))) (the sum over all k studies); weight_i = 100 hat_i.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    if np.isnan(y).any() or np.isnan(v).any():
        raise InputError("influence diagnostics need complete yi and vi (drop missing studies "
                         "first)", field="yi")
    k = y.size
    if k < 3:
        raise InputError(f"influence diagnostics need at least 3 studies (k = {k})")
    full = pool(y, v, method=method, tau2_ci=False)
    labels = tuple(str(s) for s in labels) if labels is not None else full.labels
    loo = leave_one_out(y, v, method=method)
    tau2_full = 0.0 if full.method == "FE" else full.tau2
    w = 1.0 / (v + tau2_full)
    hat = w / w.sum()
    mu_i = loo["estimate"].to_numpy(float)
    se_i = loo["se"].to_numpy(float)
    tau2_i = np.nan_to_num(loo["tau2"].to_numpy(float), nan=0.0)
    diff = full.estimate - mu_i
    resid = y - mu_i
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0  # as metafor
    rstudent = resid / np.sqrt(v + tau2_i + se_i**2)
    dffits = diff / np.sqrt(hat * (tau2_i + v))
    cook = diff**2 / full.se**2
    cov_r = se_i**2 / full.se**2
    sum_w_del = np.empty(k)
    rows = max(1, LOO_CHUNK_CELLS // k)
    for start in range(0, k, rows):
        sl = slice(start, min(k, start + rows))
        sum_w_del[sl] = (1.0 / (v[None, :] + tau2_i[sl, None])).sum(axis=1)
    dfbetas = diff / np.sqrt(1.0 / sum_w_del)
    from scipy import stats

    p = 1
    flagged = ((np.abs(dffits) > 3 * np.sqrt(p / (k - p))) | (stats.chi2.cdf(cook, p) > 0.5)
               | (hat > 3 * p / k) | (np.abs(dfbetas) > 1))
    frame = pd.DataFrame({"rstudent": rstudent, "dffits": dffits, "cook_d": cook,
                          "cov_r": cov_r, "tau2_del": loo["tau2"].to_numpy(float),
                          "qe_del": loo["q"].to_numpy(float), "hat": hat, "weight": 100 * hat,
                          "dfbetas": dfbetas, "influential": flagged},
                         index=pd.Index(labels, name="study"))
    return InfluenceResult(method=full.method, labels=labels, frame=frame)


def cumulative(yi, vi, *, method: str = "REML", ci: str = "wald",
               order: Sequence[float] | None = None,
               labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Cumulative meta-analysis, as metafor's ``cumul(rma(yi, vi, method=...), order=...)``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    method, ci : str
        As :func:`evidencekit.stats.pooling.pool`.
    order : sequence of float, optional
        Sort key (e.g. publication year); studies are added in increasing order (ties keep the
        input order). Default: the input order.
    labels : sequence of str, optional

    Returns
    -------
    pandas.DataFrame
        Row j is the model fitted to the first j studies, indexed by the study added; the
        :func:`evidencekit.stats.batch.pool_many` columns.

    Notes
    -----
    Lau et al. (1992), N Engl J Med 327:248; each row is :func:`evidencekit.stats.pooling.pool` on the
    first j studies (formulas there), fitted together by :func:`pool_many`. The first row rests
    on one study, so its tau², I², H² and Q's p are not estimable (NaN), where metafor prints
    0, 0, 1 and 1.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})")
    k = y.size
    if k == 0:
        raise InputError("cumulative meta-analysis needs at least one study")
    labels = [str(s) for s in labels] if labels is not None else [str(i + 1) for i in range(k)]
    idx = np.arange(k)
    if order is not None:
        key = np.asarray(order, dtype=float).ravel()
        if key.size != k:
            raise InputError(f"order must have one value per study ({key.size} != {k})")
        idx = np.argsort(key, kind="stable")
    ys, vs = y[idx], v[idx]
    Y = np.full((k, k), np.nan)
    V = np.full((k, k), np.nan)
    lower = np.tril(np.ones((k, k), bool))
    Y[lower] = np.broadcast_to(ys, (k, k))[lower]
    V[lower] = np.broadcast_to(vs, (k, k))[lower]
    frame = pool_many(Y, V, method=method, ci=ci)
    frame.index = pd.Index([labels[i] for i in idx], name="added")
    return frame
