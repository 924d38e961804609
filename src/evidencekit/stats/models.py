"""Models with study-level covariates: meta-regression and subgroup analysis, as R metafor.

:func:`meta_regression` is metafor's ``rma(yi, vi, mods = ~ x1 + x2, method=...)`` (an intercept
plus the moderators, a mixed-effects model fitted by weighted least squares with tau² estimated
from the residual heterogeneity). :func:`subgroup_analysis` fits one random-effects model per
level of a grouping variable, each with its own tau² (as RevMan does), and tests whether the
subgroup estimates differ (Cochrane Handbook 10.11.3.1).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .arrays import paired_yi_vi
from .distributions import critical_value
from .engine import MissingDataWarning
from .formatting import number
from .inference import Inference
from .pooling import PoolResult, pool
from .tau2 import DEFAULT_CONTROL

__all__ = ["REGRESSION_METHODS", "Coefficient", "MetaRegressionResult", "SubgroupResult",
           "meta_regression", "subgroup_analysis"]

#: tau² estimators for meta-regression (metafor's names); FE fits a fixed-effects meta-regression.
REGRESSION_METHODS = ("FE", "DL", "HE", "ML", "REML")

# metafor's rma.uni control defaults, as pool() uses them: the same stopping rules, the same numbers.
_THRESHOLD = DEFAULT_CONTROL["threshold"]
_MAXITER = DEFAULT_CONTROL["maxiter"]
_TOL = DEFAULT_CONTROL["tol"]


@dataclass(frozen=True, slots=True)
class Coefficient(Inference):
    """One model coefficient: the ``coefficients: [{name, estimate, se, ci_low, ci_high, p}]``
    entries of the ``pool --moderator`` JSON (``z`` is the z or, under HKSJ, t statistic)."""

    name: str


@dataclass(frozen=True, slots=True)
class MetaRegressionResult:
    """A fitted meta-regression, frozen.

    ``coefficients`` lists the intercept first, then the moderators in the order given. ``qm`` is
    the omnibus test of the moderators (chi² with ``qm_df[0]`` df; under HKSJ an F statistic with
    ``qm_df`` = (m, k - p) df, as metafor's ``test="knha"``), ``r2`` the percentage of tau²
    accounted for by the moderators, ``tau2`` the residual tau², ``i2`` and ``h2`` the residual
    heterogeneity, ``qe`` the test for residual heterogeneity (k - p df).
    """

    k: int
    method: str
    ci_method: str
    level: float
    coefficients: tuple[Coefficient, ...]
    qm: float
    qm_df: tuple[float, float]
    qm_p: float
    r2: float
    tau2: float
    i2: float
    h2: float
    qe: float
    qe_p: float
    df: float
    dropped: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, z (or t), p, ci_low, ci_high."""
        return pd.DataFrame([asdict(c) for c in self.coefficients]).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """The keys ``pool --moderator`` adds: coefficients (intercept first), qm, qm_p, r2, and
        the residual heterogeneity (tau2, i2, h2, qe, qe_p) the coefficients rest on."""
        return {"coefficients": [{"name": c.name, "estimate": c.estimate, "se": c.se,
                                  "ci_low": c.ci_low, "ci_high": c.ci_high, "z": c.z, "p": c.p}
                                 for c in self.coefficients],
                "qm": self.qm, "qm_df": list(self.qm_df), "qm_p": self.qm_p, "r2": self.r2,
                "residual": {"k": self.k, "method": self.method, "tau2": self.tau2,
                             "i2": self.i2, "h2": self.h2, "qe": self.qe, "qe_p": self.qe_p}}

    def summary(self) -> str:
        """A text table naming the model, the test used and the residual heterogeneity."""
        test = (f"t with {self.df:g} df (Knapp-Hartung)" if self.ci_method == "hksj"
                else "z (Wald)")
        model = ("fixed-effects meta-regression" if self.method == "FE"
                 else f"mixed-effects meta-regression, tau² estimator {self.method}")
        qm_txt = (f"F({self.qm_df[0]:g}, {self.qm_df[1]:g}) = {self.qm:.4f}"
                  if self.ci_method == "hksj" else f"QM({self.qm_df[0]:g}) = {self.qm:.4f}")
        lines = [f"Meta-regression of {self.k} studies: {model}; tests: {test}",
                 f"  moderators: {qm_txt}, p = {_p(self.qm_p)}; R² = {number(self.r2, 2)}%",
                 f"  residual heterogeneity: tau² = {number(self.tau2)}, I² = {number(self.i2, 1)}%, "
                 f"QE({self.k - len(self.coefficients)}) = {number(self.qe)}, p = {_p(self.qe_p)}",
                 self.to_frame().to_string(float_format=lambda x: f"{x:.4f}")]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


# ---------------------------------------------------------------------------------------------
# the engine: weighted least squares with a p-column design, P = W - W X (X'WX)^-1 X'W never formed


def _wls(X, y, w):
    """beta, (X'WX)^-1 and the weighted residuals for weights w."""
    XtW = X.T * w
    XtWX = XtW @ X
    try:
        inv = np.linalg.inv(XtWX)
    except np.linalg.LinAlgError:
        raise InputError("the moderators are collinear (or a moderator is constant): the "
                         "model cannot be fitted; drop a moderator", field="moderator") from None
    beta = inv @ (XtW @ y)
    return beta, inv, y - X @ beta


def _p_traces(X, w, inv):
    """tr P and tr PP for P = W - W X (X'WX)^-1 X'W (Viechtbauer 2005, appendix), without P.

    tr P = sum w - tr(A B1), tr PP = sum w² - 2 tr(A B2) + tr(A B1 A B1), with A = (X'WX)^-1 and
    Bj = X' W^(j+1) X.
    """
    B1 = (X.T * w**2) @ X
    B2 = (X.T * w**3) @ X
    AB1 = inv @ B1
    trp = w.sum() - np.trace(AB1)
    trpp = (w**2).sum() - 2 * np.trace(inv @ B2) + np.trace(AB1 @ AB1)
    return trp, trpp


def _restricted_loglik(X, y, v, tau2, reml):
    w = 1.0 / (v + tau2)
    beta, inv, r = _wls(X, y, w)
    rss = float((w * r * r).sum())
    k, p = X.shape
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * np.log(v + tau2).sum() - 0.5 * rss
    logdet = np.linalg.slogdet((X.T * w) @ X)[1]
    return (-0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * np.log(v + tau2).sum()
            - 0.5 * logdet - 0.5 * rss)


def _tau2_regression(method, X, y, v):
    """tau² of a meta-regression with metafor's estimator and algorithm (rma.uni.r).

    Returns (tau2, note or None).
    """
    k, p = X.shape
    if method == "FE":
        return 0.0, None
    if method == "DL":
        w = 1.0 / v
        _, inv, r = _wls(X, y, w)
        trp, _ = _p_traces(X, w, inv)
        return max(0.0, (float((w * r * r).sum()) - (k - p)) / trp), None
    # Hedges' estimator, also metafor's start for ML/REML: (RSS_OLS - tr(P_OLS V)) / (k - p)
    _, inv, r = _wls(X, y, np.ones(k))
    hat = np.einsum("ij,jk,ik->i", X, inv, X)
    tau2 = (float((r * r).sum()) - float((v * (1 - hat)).sum())) / (k - p)
    if method == "HE":
        return max(0.0, tau2), None
    tau2 = max(0.0, tau2)
    reml = method == "REML"
    converged = False
    for _ in range(_MAXITER + 1):
        w = 1.0 / (v + tau2)
        _, inv, r = _wls(X, y, w)
        wr = w * r
        trp, trpp = _p_traces(X, w, inv)
        if reml:
            adj = (float((wr * wr).sum()) - trp) / trpp
        else:
            adj = (float((wr * wr).sum()) - w.sum()) / (w**2).sum()
        if math.isnan(adj):
            adj = 0.0
        if not math.isfinite(adj):
            raise InputError("the Fisher scoring step for tau² is not finite: the effect sizes "
                             "or variances are too large or too small to compute with; rescale "
                             "them (e.g. other units)", field="yi")
        while tau2 + adj < 0:  # metafor's step halving (tau2.min = 0); ends: adj is finite
            adj /= 2
            if adj == 0.0 or tau2 + adj == tau2:
                break
        new = tau2 + adj
        change = abs(new - tau2)
        tau2 = new
        if change <= _THRESHOLD:
            converged = True
            break
    note = None
    if not converged:
        # metafor stops here ("Fisher scoring algorithm did not converge"); we maximise the
        # (restricted) likelihood over a bracket instead, so a fit never fails on valid input.
        from scipy.optimize import minimize_scalar
        hi = max(1.0, 10 * tau2, 10 * float(np.var(y)))
        res = minimize_scalar(lambda t: -_restricted_loglik(X, y, v, t, reml), bounds=(0.0, hi),
                              method="bounded", options={"xatol": 1e-12})
        tau2 = float(res.x)
        note = (f"Fisher scoring did not converge in {_MAXITER} iterations; tau² maximises the "
                f"{'restricted ' if reml else ''}likelihood on [0, {hi:g}] instead")
    # metafor's ll0 check: Fisher scoring stuck at a local maximum above the one at tau² = 0
    if (_restricted_loglik(X, y, v, 0.0, reml) - _restricted_loglik(X, y, v, tau2, reml) > _TOL
            and tau2 > _THRESHOLD):
        tau2 = 0.0
    return max(0.0, tau2), note


def meta_regression(yi, vi, mods: Mapping[str, Sequence[float]] | pd.DataFrame, *,
                    method: str = "REML", ci: str = "wald", level: float = 95.0,
                    labels: Sequence[str] | None = None) -> MetaRegressionResult:
    """Meta-regression on study-level moderators, as metafor's ``rma(yi, vi, mods = ~ ...)``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    mods : mapping of name -> values, or DataFrame
        The moderators, in the order they enter the model (an intercept comes first). Numeric;
        code a categorical moderator as 0/1 columns.
    method : {"REML", "ML", "DL", "HE", "FE"}
        Estimator of the residual tau²; "FE" fits a fixed-effects meta-regression.
    ci : {"wald", "hksj"}
        z tests and Wald intervals, or the Knapp-Hartung t tests (k - p df) and F test for QM.
    level : float
        Confidence level in percent.
    labels : sequence of str, optional
        Study labels, used in the warning about dropped rows.

    Returns
    -------
    MetaRegressionResult

    Notes
    -----
    The mixed-effects model y = X beta + u + e, u ~ N(0, tau²), e ~ N(0, v_i) (Raudenbush 2009;
    Viechtbauer 2005; metafor ``rma.uni``). With W = diag(1/(v_i + tau²)):
    beta = (X'WX)^-1 X'Wy, Var(beta) = (X'WX)^-1, z tests and Wald CIs; with ``ci="hksj"`` the
    covariance is scaled by s² = sum w r² / (k - p) and t (k - p df) and F (m, k - p) are used
    (Knapp & Hartung 2003). QM = b' Var(b)^-1 b over the moderators (chi², m df; F = QM/m under
    HKSJ). tau²: REML and ML by metafor's Fisher scoring (start: Hedges' estimator
    (RSS_OLS - tr(P_OLS V))/(k - p); step halving; stop when the change is <= 1e-5; metafor's
    check against a local maximum), DL as (QE - (k - p))/tr P (Raudenbush 2009), HE as the
    starting value, each truncated at 0. QE = y'Py at tau² = 0 on k - p df; I² = 100 tau²/(tau² +
    s²) with s² = (k - p)/tr P (metafor's definition, Higgins & Thompson 2002 generalised); FE:
    I² = max(0, 100 (QE - (k - p))/QE). R² = max(0, 100 (tau²_0 - tau²)/tau²_0) with tau²_0 from
    the model without moderators (Raudenbush 2009; metafor's pseudo-R², 0 when tau²_0 = 0); for
    FE, the adjusted R² of the weighted least-squares fit (as metafor). P's traces are computed
    from p x p matrices (:func:`_p_traces`), so memory is O(k p), not O(k²).
    """
    if not isinstance(method, str) or method.upper() not in REGRESSION_METHODS:
        raise InputError(f"unknown method {method!r} for meta-regression: use one of "
                         f"{', '.join(REGRESSION_METHODS)}", field="method")
    method = method.upper()
    if ci not in ("wald", "hksj"):
        raise InputError(f"unknown ci {ci!r}: use 'wald' or 'hksj'", field="ci")
    y, v = paired_yi_vi(yi, vi)
    frame = pd.DataFrame(mods) if not isinstance(mods, pd.DataFrame) else mods
    names = [str(c) for c in frame.columns]
    if not names:
        raise InputError("meta-regression needs at least one moderator", field="moderator")
    try:
        Z = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError("moderators must be numbers (code a category as 0/1 columns)",
                         field="moderator") from None
    if Z.shape[0] != y.size:
        raise InputError(f"each moderator needs one value per study ({Z.shape[0]} != {y.size})",
                         field="moderator")
    missing = np.isnan(y) | np.isnan(v) | np.isnan(Z).any(axis=1)
    labels = [str(s) for s in labels] if labels is not None else [str(i + 1) for i in
                                                                  range(y.size)]
    dropped = tuple(int(i) for i in np.nonzero(missing)[0])
    if dropped:
        warnings.warn(f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with a missing "
                      "effect size, variance or moderator left out of the meta-regression: "
                      + ", ".join(labels[i] for i in dropped), MissingDataWarning, stacklevel=2)
        y, v, Z = y[~missing], v[~missing], Z[~missing]
    if (~np.isfinite(v) | (v <= 0)).any() or (~np.isfinite(y)).any() or \
            (~np.isfinite(Z)).any():
        raise InputError("effect sizes and moderators must be finite and sampling variances "
                         "finite and positive", field="vi")
    k = y.size
    X = np.column_stack([np.ones(k), Z])
    p = X.shape[1]
    if k <= p:
        raise InputError(f"meta-regression with {p - 1} moderator(s) needs more than {p} "
                         f"studies (k = {k})", field="moderator")
    if np.linalg.matrix_rank(X) < p:
        raise InputError("the moderators are collinear (or a moderator is constant): the model "
                         "cannot be fitted; drop a moderator", field="moderator")
    with np.errstate(all="ignore"):
        tau2, note = _tau2_regression(method, X, y, v)
        w = 1.0 / (v + tau2)
        beta, vb, r = _wls(X, y, w)
        df = math.nan
        m = p - 1
        if ci == "hksj":
            rss = float((w * r * r).sum())
            s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)  # as metafor
            vb = s2w * vb
            df = float(k - p)
        se = np.sqrt(np.diag(vb))
        zval = beta / se
        sub = vb[1:, 1:]
        qm = float(beta[1:] @ np.linalg.solve(sub, beta[1:]))
        if ci == "hksj":
            qm /= m
            qm_df = (float(m), df)
            qm_p = float(stats.f.sf(qm, m, df))
            pval = 2 * stats.t.sf(np.abs(zval), df)
            crit = critical_value(level, df)
        else:
            qm_df = (float(m), math.nan)
            qm_p = float(stats.chi2.sf(qm, m))
            pval = 2 * stats.norm.sf(np.abs(zval))
            crit = critical_value(level)
        # residual heterogeneity at tau² = 0
        w0 = 1.0 / v
        _, inv0, r0 = _wls(X, y, w0)
        qe = max(0.0, float((w0 * r0 * r0).sum()))
        qe_p = float(stats.chi2.sf(qe, k - p))
        trp0, _ = _p_traces(X, w0, inv0)
        if method == "FE":
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
            r2 = _fe_adjusted_r2(X, y, w0)
        else:
            vt = (k - p) / trp0
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
            tau2_null = pool(y, v, method=method, tau2_ci=False).tau2
            r2 = 0.0 if tau2_null == 0 else max(0.0, 100 * (tau2_null - tau2) / tau2_null)
    if not (np.isfinite(beta).all() and np.isfinite(se).all()):
        raise InputError("the meta-regression gives non-finite coefficients: the effect sizes, "
                         "variances or moderators are too large or too small to compute with; "
                         "rescale them", field="yi")
    coefs = tuple(Coefficient(name=n, estimate=float(b), se=float(s), ci_low=float(b - crit * s),
                              ci_high=float(b + crit * s), z=float(z), p=float(pv))
                  for n, b, s, z, pv in zip(["intrcpt"] + names, beta, se, zval, pval))
    return MetaRegressionResult(
        k=k, method=method, ci_method=ci, level=float(level), coefficients=coefs, qm=qm,
        qm_df=qm_df, qm_p=qm_p, r2=float(r2), tau2=float(tau2), i2=float(i2), h2=float(h2),
        qe=qe, qe_p=qe_p, df=df, dropped=dropped, notes=(note,) if note else ())


def _fe_adjusted_r2(X, y, w):
    """Adjusted R² (percent, truncated at 0) of the weighted least-squares fit: what metafor
    reports for a fixed-effects meta-regression (``summary(lm(yi ~ X, weights = wi))``)."""
    k, p = X.shape
    if np.var(y) == 0:
        return 0.0
    _, _, r = _wls(X, y, w)
    ybar = (w * y).sum() / w.sum()
    rss = (w * r * r).sum()
    tss = (w * (y - ybar) ** 2).sum()
    adj = 1 - (rss / (k - p)) / (tss / (k - 1))
    return max(0.0, 100 * float(adj))


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubgroupResult:
    """Subgroup analysis: one random-effects fit per level (each with its own tau²) and the test
    for subgroup differences, frozen.

    ``subgroups`` maps each level (in order of first appearance) to its :class:`PoolResult`;
    ``q_between`` is Cochran's Q of the subgroup estimates about their inverse-variance mean, on
    ``q_between_df`` = levels - 1 df.
    """

    subgroups: Mapping[str, PoolResult]
    q_between: float
    q_between_df: int
    q_between_p: float
    method: str
    ci_method: str
    dropped: tuple[int, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """``subgroups: [{level, k, estimate, se, ci_low, ci_high, tau2, i2}]`` of the JSON."""
        return [{"level": level, "k": r.k, "estimate": r.estimate, "se": r.se,
                 "ci_low": r.ci_low, "ci_high": r.ci_high, "tau2": r.tau2, "i2": r.i2}
                for level, r in self.subgroups.items()]

    def to_dict(self) -> dict[str, Any]:
        """The keys ``pool --subgroup`` adds: subgroups, q_between, q_between_df, q_between_p."""
        return {"subgroups": self.rows(), "q_between": self.q_between,
                "q_between_df": self.q_between_df, "q_between_p": self.q_between_p}

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup level."""
        return pd.DataFrame(self.rows()).set_index("level")

    def summary(self) -> str:
        """Per-level estimates and the test for subgroup differences, in words."""
        lines = [f"Subgroup analysis: {len(self.subgroups)} subgroups, a separate tau² "
                 f"({self.method}) in each"]
        lines.append(self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"))
        lines.append(f"  test for subgroup differences: Q = {number(self.q_between)}, df = "
                     f"{self.q_between_df}, p = {_p(self.q_between_p)}")
        return "\n".join(lines)


def subgroup_analysis(yi, vi, groups: Sequence[Hashable], *, method: str = "REML", ci: str = "wald",
                      level: float = 95.0, measure: str | None = None,
                      labels: Sequence[str] | None = None) -> SubgroupResult:
    """Random-effects meta-analysis per subgroup and the test for subgroup differences.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    groups : sequence
        The subgroup of each study (any values; compared as text). A missing group (None, NaN or
        an empty string) leaves the study out, with a warning.
    method, ci, level, measure
        As for :func:`evidencekit.stats.pooling.pool`, applied within each subgroup.
    labels : sequence of str, optional
        Study labels.

    Notes
    -----
    Each subgroup is pooled with :func:`evidencekit.stats.pooling.pool` on its own studies, so each has
    its own tau² (RevMan's default; Cochrane Handbook 10.11.3.1; Borenstein et al. 2009, ch. 19,
    "separate estimates of tau²"). The test for subgroup differences is Cochran's Q of the
    subgroup estimates theta_g with weights 1/se_g²: Q_between = sum (theta_g - theta_bar)²/se_g²,
    chi² with G - 1 df (Deeks, Altman & Bradburn 2001; metafor: ``rma(estimates, sei = se,
    method = "FE")``'s QE). A subgroup of one study contributes its own estimate and se.
    """
    y, v = paired_yi_vi(yi, vi)
    g = list(groups)
    if len(g) != y.size or v.size != y.size:
        raise InputError(f"yi, vi and the subgroups must have one entry per study ({y.size}, "
                         f"{v.size}, {len(g)})", field="subgroup")
    labels = [str(s) for s in labels] if labels is not None else [str(i + 1) for i in
                                                                  range(y.size)]
    text = ["" if (x is None or (isinstance(x, float) and math.isnan(x))) else str(x).strip()
            for x in g]
    no_group = [i for i, t in enumerate(text) if t == ""]
    if no_group:
        warnings.warn(f"{len(no_group)} stud{'y' if len(no_group) == 1 else 'ies'} without a "
                      "subgroup left out of the subgroup analysis: "
                      + ", ".join(labels[i] for i in no_group), MissingDataWarning, stacklevel=2)
    levels = list(dict.fromkeys(t for t in text if t))
    if len(levels) < 2:
        raise InputError(f"a subgroup analysis needs at least 2 subgroups (found "
                         f"{len(levels)}: {', '.join(levels) or 'none'})", field="subgroup")
    fits: dict[str, PoolResult] = {}
    for lev in levels:
        idx = [i for i, t in enumerate(text) if t == lev]
        try:
            fits[lev] = pool(y[idx], v[idx], method=method, ci=ci, level=level, measure=measure,
                             labels=[labels[i] for i in idx], tau2_ci=False)
        except InputError as exc:
            raise InputError(f"subgroup {lev!r}: {exc.message}", field=exc.field or "subgroup") \
                from None
    est = np.array([r.estimate for r in fits.values()])
    se = np.array([r.se for r in fits.values()])
    if not (np.isfinite(est).all() and np.isfinite(se).all() and (se > 0).all()):
        bad = [lev for lev, r in fits.items() if not (math.isfinite(r.se) and r.se > 0)]
        raise InputError("the test for subgroup differences needs a finite standard error in "
                         f"every subgroup; not estimable in: {', '.join(bad)} (e.g. HKSJ with "
                         "one study)", field="subgroup")
    w = 1.0 / se**2
    mean = (w * est).sum() / w.sum()
    q = float((w * (est - mean) ** 2).sum())
    df = len(levels) - 1
    return SubgroupResult(subgroups=fits, q_between=q, q_between_df=df,
                          q_between_p=float(stats.chi2.sf(q, df)), method=method.upper(),
                          ci_method=ci, dropped=tuple(no_group))
