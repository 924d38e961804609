"""A single meta-analysis, as R metafor's ``rma.uni``: :func:`pool` and its :class:`PoolResult`.

The fit runs the vectorised engine (:func:`evidencekit.stats.engine.fit_rows`) on one row, the
same arithmetic :func:`evidencekit.stats.batch.pool_many` runs on thousands, so ``pool_many``
equals ``pool`` row by row (to rounding).

Agreement with metafor is by construction, not by luck: the iterative estimators
(:mod:`evidencekit.stats.tau2`) use metafor's own algorithms and stopping rules (Fisher scoring
from the Hedges start with threshold 1e-5 for REML, ML and EB; Brent's ``zeroin`` as in R's
``uniroot`` with tolerance ``eps**0.25`` for PM and the Q-profile interval), so a fit stops where
metafor's stops. Where metafor gives up, we do not (see :func:`pool`, Notes).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scales import on_log_scale, to_natural
from .arrays import as_float, check_values, frozen
from .distributions import critical_value
from .engine import MissingDataWarning, check_options, fit_rows, pi_description
from .formatting import number, p_comparison
from .inference import PooledEstimate
from .tau2 import METHOD_NAMES

__all__ = ["PoolResult", "pool", "SCALAR_KEYS", "EXTRA_KEYS", "TAU2_CI_KEYS"]

#: The scalar keys of the JSON contract (DESIGN.md), in contract order.
SCALAR_KEYS = ("k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p", "tau2",
               "i2", "h2", "q", "q_p", "pi_low", "pi_high")
#: Keys added after the contract's so that every default behind a number is named in the output
#: (DESIGN.md: "every default is named in output"): the confidence level, the CI method ("wald" or
#: "hksj") and its t degrees of freedom (NaN / null when the normal quantile is used), the
#: prediction-interval method in words and its t df. Columns of :func:`pool_many` and
#: ``PoolResult.to_frame()`` too.
EXTRA_KEYS = ("level", "ci_method", "df", "pi_method", "pi_df")
#: The Q-profile interval for tau² and the name of its method (None where not computed: FE, or
#: ``tau2_ci=False``).
TAU2_CI_KEYS = ("tau2_ci_low", "tau2_ci_high", "tau2_ci_method")

# ---------------------------------------------------------------------------------------------
# public results


@dataclass(frozen=True, slots=True)
class PoolResult(PooledEstimate):
    """A fitted meta-analysis (one intercept-only model), frozen.

    Attributes carry the JSON contract's keys (DESIGN.md): ``k, measure, method, estimate, se,
    ci_low, ci_high, z, p, tau2, i2`` (percent), ``h2, q, q_p, pi_low, pi_high``, and per study
    ``yi, vi, weight`` (percent of the total weight, as metafor's ``weights()``).
    Beyond the contract (DESIGN.md allows more keys) every default behind a number is named:
    ``level``, ``ci_method`` ("wald" or "hksj"), ``df`` (t degrees of freedom, NaN for Wald),
    ``pi_method`` (the ``pi=`` option; :attr:`pi_description` in words), :attr:`pi_df`,
    ``tau2_ci_low``, ``tau2_ci_high`` and ``tau2_ci_method`` ("Q-profile").

    Under HKSJ, ``z`` and ``p`` hold the t statistic est/se_HKSJ and its two-sided p-value from t
    with ``df`` = k-1 degrees of freedom, exactly as metafor's ``zval`` and ``pval`` do under
    ``test="knha"`` (the key keeps metafor's name). ``notes`` says what could not be estimated and
    why; ``dropped`` lists the input positions left out as missing.
    """

    k: int
    measure: str
    method: str
    ci_method: str
    pi_method: str
    level: float
    df: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_p: float
    pi_low: float
    pi_high: float
    tau2_ci_low: float
    tau2_ci_high: float
    dropped: tuple[int, ...] = ()
    converged: bool = True
    fallback: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    tau2_ci_method: str | None = None

    @property
    def tau(self) -> float:
        """Between-study standard deviation, sqrt(tau²)."""
        return math.sqrt(self.tau2) if math.isfinite(self.tau2) else math.nan

    @property
    def pi_description(self) -> str:
        """The prediction interval's method in words, e.g. "metafor: normal quantile, ..."."""
        return pi_description(self.pi_method, self.ci_method)

    @property
    def pi_df(self) -> float:
        """Degrees of freedom of the prediction interval's t quantile (NaN: normal quantile)."""
        if self.pi_method == "t_k2":
            return float(self.k - 2) if self.k >= 3 else math.nan
        return self.df

    def _extras(self) -> dict[str, Any]:
        return {"level": float(self.level), "ci_method": self.ci_method, "df": float(self.df),
                "pi_method": self.pi_description, "pi_df": float(self.pi_df)}

    def to_dict(self) -> dict[str, Any]:
        """The ``evidencekit pool --format json`` payload.

        The contract's scalar keys (:data:`SCALAR_KEYS`, in DESIGN.md order), then
        :data:`EXTRA_KEYS` (``level``, ``ci_method``, ``df``, ``pi_method`` in words, ``pi_df``),
        :data:`TAU2_CI_KEYS`, ``converged``, ``fallback``, ``notes`` (list of str) and last
        ``studies: [{yi, vi, weight}]``. Values that cannot be estimated are NaN (the CLI writes
        null). Under HKSJ ``z``/``p`` are metafor's t statistic and its p (see the class doc).
        """
        d: dict[str, Any] = {}
        for key in SCALAR_KEYS:
            value = getattr(self, key)
            d[key] = value if isinstance(value, str) else (int(value) if key == "k"
                                                            else float(value))
        d.update(self._extras())
        d["tau2_ci_low"] = float(self.tau2_ci_low)
        d["tau2_ci_high"] = float(self.tau2_ci_high)
        d["tau2_ci_method"] = self.tau2_ci_method
        d["converged"] = bool(self.converged)
        d["fallback"] = bool(self.fallback)
        d["notes"] = list(self.notes)
        d["studies"] = [study._asdict() for study in self.studies]
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row: the contract's scalar keys, then :data:`EXTRA_KEYS` and the tau² interval
        (``tau2_ci_low``, ``tau2_ci_high``); the columns of :func:`pool_many` with
        ``tau2_ci=True``."""
        row = {key: getattr(self, key) for key in SCALAR_KEYS}
        row.update(self._extras())
        row["tau2_ci_low"], row["tau2_ci_high"] = self.tau2_ci_low, self.tau2_ci_high
        return pd.DataFrame([row])

    def studies_frame(self) -> pd.DataFrame:
        """Per-study table: yi, vi, se, 95% (or ``level``) Wald CI, weight (%)."""
        crit = critical_value(self.level)
        se = np.sqrt(self.vi)
        return pd.DataFrame({"yi": self.yi, "vi": self.vi, "se": se,
                             "ci_low": self.yi - crit * se, "ci_high": self.yi + crit * se,
                             "weight": self.weight}, index=pd.Index(self.labels, name="study"))

    def summary(self) -> str:
        """A text report that names every default used (estimator, CI, PI, tau² interval)."""
        lv = f"{self.level:g}%"
        fmt = number
        model = ("common-effect model" if self.method == "FE"
                 else f"random-effects model, tau² estimator {self.method} "
                      f"({METHOD_NAMES[self.method]})")
        if self.ci_method == "hksj":
            ci_txt = f"Hartung-Knapp-Sidik-Jonkman, t with {fmt(self.df, 0)} df"
            stat = f"t = {fmt(self.z)}, df = {fmt(self.df, 0)}"
        else:
            ci_txt = "Wald (normal quantile)"
            stat = f"z = {fmt(self.z)}"
        if self.pi_method == "t_k2":
            pi_txt = "t with k-2 df, se² + tau² (Higgins 2009)"
        elif self.ci_method == "hksj":
            pi_txt = "metafor default with HKSJ: t with k-1 df, se² + tau²"
        else:
            pi_txt = "metafor default: normal quantile, se² + tau²"
        lines = [
            f"Meta-analysis of {self.k} stud{'y' if self.k == 1 else 'ies'} "
            f"(measure {self.measure}): {model}",
            f"  confidence interval: {ci_txt}; prediction interval: {pi_txt}",
            f"  estimate {fmt(self.estimate)} (se {fmt(self.se)}), {lv} CI "
            f"[{fmt(self.ci_low)}, {fmt(self.ci_high)}], {stat}, p {p_comparison(self.p)}",
        ]
        if on_log_scale(self.measure):
            natural = [to_natural(self.measure, x) for x in (self.estimate, self.ci_low, self.ci_high)]
            lines.append(f"  back-transformed ({self.measure}): {fmt(natural[0])} "
                         f"[{fmt(natural[1])}, {fmt(natural[2])}]")
        lines.append(f"  {lv} prediction interval [{fmt(self.pi_low)}, {fmt(self.pi_high)}]")
        het = (f"  heterogeneity: Q = {fmt(self.q)} (df = {self.k - 1}), p {p_comparison(self.q_p)}, "
               f"I² = {fmt(self.i2, 1)}{'%' if math.isfinite(self.i2) else ''}, "
               f"H² = {fmt(self.h2)}")
        lines.append(het)
        if self.method != "FE":
            lines.append(f"  tau² = {fmt(self.tau2)} (tau = {fmt(self.tau)}), {lv} Q-profile CI "
                         f"[{fmt(self.tau2_ci_low)}, {fmt(self.tau2_ci_high)}]")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)




def unpack_effects(yi, vi, measure):
    """Accept an effects result (anything with yi, vi, measure attributes) in place of yi."""
    if vi is None and hasattr(yi, "yi") and hasattr(yi, "vi"):
        measure = measure or getattr(yi, "measure", None)
        labels = getattr(yi, "labels", None)
        return yi.yi, yi.vi, measure, labels
    if vi is None:
        raise InputError("pool needs vi (sampling variances) alongside yi", field="vi")
    return yi, vi, measure, None


def _fit_notes(k: int, method: str, ci: str, pi: str, *, fallback: bool,
               maxiter: int) -> tuple[str, ...]:
    """What a fit could not estimate, or rests on, in words: :attr:`PoolResult.notes`."""
    notes: list[str] = []
    if k == 1:
        if method == "FE":
            notes.append("k = 1: I², H² and the test of heterogeneity cannot be estimated from one "
                         "study; the estimate is the study's own")
        else:
            notes.append("k = 1: tau² and its Q-profile interval, I², H², the test of "
                         "heterogeneity and the prediction interval cannot be estimated from one "
                         "study; the estimate is the study's own")
        if ci == "hksj":
            notes.append("k = 1: HKSJ needs k >= 2 (no degrees of freedom): no se, CI, t or p")
    if pi == "t_k2" and k <= 2:
        notes.append(f"k = {k}: the t-based prediction interval needs k >= 3 (k - 2 df)")
    if k == 2 and method != "FE":
        notes.append("k = 2: tau² rests on two studies and is very imprecise (see its Q-profile "
                     "interval)")
    if method == "FE":
        notes.append("common-effect model: tau² is 0 by assumption and the prediction interval "
                     "equals the confidence interval (metafor's predict() gives no prediction "
                     "interval for a common-effect model)")
    if fallback:
        notes.append("Fisher scoring (metafor's algorithm) did not converge in "
                     f"{maxiter} iterations; tau² found by bracketed root finding "
                     "on the likelihood score instead")
    return tuple(notes)


def pool(yi, vi=None, method: str = "REML", ci: str = "wald", *, pi: str = "metafor",
         level: float = 95.0, measure: str | None = None,
         labels: Sequence[str] | None = None, control: Mapping[str, float] | None = None,
         tau2_ci: bool = True) -> PoolResult:
    """Pool effect sizes with a common-effect or random-effects model, as metafor's ``rma.uni``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and their sampling variances, one per study. ``yi`` may instead be the
        result of :func:`evidencekit.stats.effects.effect_sizes` (then ``vi`` is omitted).
    method : {"REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "FE"}
        tau² estimator; "FE" fits the common-effect (inverse-variance) model. REML is the default,
        as in current Cochrane practice (RevMan since 2025).
    ci : {"wald", "hksj"}
        Interval and test for the pooled estimate: Wald (normal) or Hartung-Knapp-Sidik-Jonkman.
    pi : {"metafor", "t_k2"}
        Prediction interval: metafor's default (normal quantile; t with k-1 df under HKSJ), or the
        t distribution with k-2 df (Higgins, Thompson & Spiegelhalter 2009).
    level : float
        Confidence level in percent.
    measure : str, optional
        Label of the effect measure (e.g. "SMD"); ratio measures are on the log scale.
    labels : sequence of str, optional
        Study labels, used in warnings and tables.
    control : mapping, optional
        metafor-style control: ``threshold`` (1e-5), ``maxiter`` (100), ``tol`` (eps**0.25),
        ``tau2_max`` (100), ``ci_maxiter`` (1000). Lower ``threshold``/``tol`` to solve more
        tightly than metafor does.
    tau2_ci : bool
        Compute the Q-profile interval for tau².

    Returns
    -------
    PoolResult

    Raises
    ------
    evidencekit.errors.InputError
        No studies left, mismatched lengths, non-finite or non-positive variances, non-finite
        effects, unknown method/ci/pi.

    Notes
    -----
    Inverse-variance pooling with weights w_i = 1/(v_i + tau²); se = (sum w_i)^-1/2
    (Cochrane Handbook 10.3). tau² estimators (Viechtbauer 2005; Veroniki et al. 2016):
    DL (DerSimonian & Laird 1986) (Q - (k-1)) / (S1 - S2/S1); HE (Hedges 1983); HS (Hunter &
    Schmidt 2004) (Q - k)/S1; SJ (Sidik & Jonkman 2005); PM (Paule & Mandel 1982) solving
    Q(tau²) = k-1; ML and REML (Viechtbauer 2005) by Fisher scoring; EB (Morris 1983) by its
    scoring iteration. All are truncated at 0, so tau² is never negative.

    Convergence. REML/ML/EB run metafor's Fisher scoring (start: Hedges estimate, step halving to
    stay >= 0, stop when the change is <= 1e-5, at most 100 steps), so values match metafor to
    ~1e-12. metafor stops with an error when the iteration has not settled after 100 steps (about
    0.7% of random k = 20 data sets). We instead fall back to bracketed root finding on the
    likelihood score: bracket [0, hi] (hi doubled until the score is negative), Brent's method to
    machine precision, keep tau² = 0 if its likelihood is higher. PM uses R's ``uniroot``
    (zeroin) exactly as metafor; where metafor reports that ``tau2.max`` is too low we widen the
    bracket instead. A fit therefore never fails on valid input. ``fallback`` records when the
    fallback was used.

    Heterogeneity as metafor: Q with weights 1/v_i; I² = 100 tau²/(tau² + s²) and
    H² = (tau² + s²)/s² with s² = (k-1) S1/(S1² - S2) (Higgins & Thompson 2002); for the
    common-effect model I² = 100 max(0, (Q - df)/Q), H² = Q/df. HKSJ: Knapp & Hartung (2003),
    IntHout et al. (2014). Prediction interval: Higgins, Thompson & Spiegelhalter (2009).
    Q-profile interval for tau²: Viechtbauer (2007).

    k = 1: the estimate is the study's own; tau², I², H², Q's p, HKSJ and the prediction
    interval cannot be estimated (NaN, with a note). k = 2: everything is estimated, but the
    t-based (k-2 df) prediction interval is not (NaN, note).
    """
    yi, vi, measure, es_labels = unpack_effects(yi, vi, measure)
    method, ctl = check_options(method, ci, pi, level, control)
    y = as_float("yi", yi).ravel() if np.ndim(yi) <= 1 else None
    v = as_float("vi", vi).ravel() if np.ndim(vi) <= 1 else None
    if y is None or v is None:
        raise InputError("pool takes one-dimensional yi and vi; use pool_many for many analyses")
    if y.shape != v.shape:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})",
                         field="vi")
    if labels is None:
        labels = es_labels
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) != y.size:
            raise InputError(f"labels must have one entry per study ({len(labels)} != {y.size})",
                             field="labels")
    else:
        labels = [str(i + 1) for i in range(y.size)]
    missing = np.isnan(y) | np.isnan(v)
    dropped = tuple(int(i) for i in np.nonzero(missing)[0])
    if dropped:
        names = ", ".join(labels[i] for i in dropped)
        warnings.warn(f"{len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with missing "
                      f"yi or vi left out of the fit: {names}", MissingDataWarning, stacklevel=2)
        keep = ~missing
        y, v = y[keep], v[keep]
        labels = [s for s, m in zip(labels, keep) if m]
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)" + (
            " after dropping missing rows; every study lacks yi or vi (or the values they are "
            "computed from): fill them in" if dropped else "; give at least one study"))
    check_values(y, v)
    with np.errstate(all="ignore"):  # overflow is reported below, once, in words
        res = fit_rows(y[None, :], v[None, :], np.ones((1, y.size), bool), method, ci, pi,
                        level, ctl, tau2_ci)
    r = {key: val[0] for key, val in res.items()}
    k = int(r["k"])
    _check_finite_fit(r, k, method, ci, y, v)
    tau2_w = 0.0 if (method == "FE" or k == 1) else float(r["tau2"])
    w = 1.0 / (v + tau2_w)
    weight = 100 * w / w.sum()
    notes = _fit_notes(k, method, ci, pi, fallback=bool(r["fallback"]),
                       maxiter=int(ctl["maxiter"]))
    return PoolResult(
        k=k, measure=(measure or "GEN"), method=method, ci_method=ci, pi_method=pi,
        level=float(level), estimate=float(r["estimate"]), se=float(r["se"]),
        ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), z=float(r["z"]),
        p=float(r["p"]), df=float(r["df"]), tau2=float(r["tau2"]), i2=float(r["i2"]),
        h2=float(r["h2"]), q=float(r["q"]), q_p=float(r["q_p"]), pi_low=float(r["pi_low"]),
        pi_high=float(r["pi_high"]),
        tau2_ci_low=float(r["tau2_ci_low"]) if tau2_ci else math.nan,
        tau2_ci_high=float(r["tau2_ci_high"]) if tau2_ci else math.nan,
        yi=frozen(y), vi=frozen(v), weight=frozen(weight), labels=tuple(labels),
        dropped=dropped, converged=bool(r["converged"]), fallback=bool(r["fallback"]),
        notes=notes, tau2_ci_method=("Q-profile" if tau2_ci and method != "FE" else None))


def _check_finite_fit(r: Mapping[str, float], k: int, method: str, ci: str, y: np.ndarray,
                      v: np.ndarray) -> None:
    """Raise InputError when a fit is not finite (never a silent "estimate NA", exit 0).

    Effect sizes near 1e150 or variances near 1e-150 make the sums of w y² overflow floating
    point (w y² ~ 1e450); the numbers are then not meaningful, and rescaling is the fix.
    """
    # what may legitimately be NaN: tau² from one study, and the HKSJ se from one study (no df)
    needed = (["estimate", "q"] + (["se"] if (ci != "hksj" or k > 1) else [])
              + (["tau2"] if method != "FE" and k > 1 else []))
    bad = [key for key in needed if not math.isfinite(float(r[key]))]
    if bad:
        raise InputError(
            f"the meta-analysis cannot be computed in floating point: {', '.join(bad)} "
            f"overflow(s) (effect sizes up to {float(np.max(np.abs(y))):.3g}, sampling "
            f"variances from {float(np.min(v)):.3g} to {float(np.max(v)):.3g}); rescale the "
            "data (e.g. other units) so that yi² / vi stays well below 1e300", field="yi")
