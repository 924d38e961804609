"""Sensitivity analyses of one pooled comparison: does the answer rest on a choice we made?

For one comparison's per-study effects, :func:`sensitivity_analyses` refits the meta-analysis under
the alternatives the Cochrane Handbook asks a review to try (10.14 "Sensitivity analyses"):

- leave-one-out: the lowest and the highest pooled estimate when any one study is left out;
- excluding the studies at high risk of bias;
- the other model: common-effect when the primary analysis is random-effects, and back;
- the other interval: HKSJ when the primary uses Wald, and back;
- for pre-post standardised mean changes (SMCR, SMCC), each assumed pre-post correlation of a
  sweep (0.2, 0.5, 0.8 by default) for the studies that do not report theirs.

Each analysis is one :class:`SensitivityRow` ``{analysis, estimate, ci_low, ci_high, k}`` (the
``sensitivity`` entries of the claims JSON, DESIGN.md), on the natural scale for ratio measures.
:meth:`SensitivityReport.direction_check` says whether the direction of the effect flips under any
of them. No formula lives here: every number is a :func:`evidencekit.stats.pooling.pool` or
:func:`evidencekit.stats.leave_one_out.leave_one_out` fit on effect sizes from
:func:`evidencekit.stats.effects.effect_sizes`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike
import pandas as pd

from ..scales import on_log_scale
from ..vocab import SINGLE_GROUP_MEASURES
from .conversions import se_from_ci
from .effects import effect_sizes
from ..errors import InputError
from .engine import CI_METHODS, MissingDataWarning
from .leave_one_out import leave_one_out
from .pooling import pool
from .tau2 import METHODS

__all__ = [
    "DEFAULT_ASSUMED_RI", "PREPOST_MEASURES", "SensitivityRow", "SensitivityReport",
    "DirectionCheck", "sensitivity_analyses", "direction_check", "for_rating", "for_claim",
]

#: Pre-post correlations swept when a study does not report its own: low, middling and high, as
#: the Cochrane Handbook (6.5.2.8, 23.2.7.2) advises trying a range of plausible values when a
#: correlation has to be imputed.
DEFAULT_ASSUMED_RI = (0.2, 0.5, 0.8)
#: Measures whose effect sizes depend on a pre-post correlation.
PREPOST_MEASURES = frozenset({"SMCR", "SMCC"})
#: The random-effects estimator used for the "other model" row when the primary is common-effect:
#: REML, the current Cochrane default (RevMan since 2025).
_RANDOM_DEFAULT = "REML"

_CI_WORDS = {"wald": "Wald (normal) interval", "hksj": "Hartung-Knapp-Sidik-Jonkman interval"}


class SensitivityRow(NamedTuple):
    """One analysis: the ``sensitivity`` entry ``{analysis, estimate, ci_low, ci_high, k}``.

    ``estimate``, ``ci_low`` and ``ci_high`` are on the natural scale (a risk ratio of 0.49, not
    its logarithm); NaN where a fit cannot give them (e.g. HKSJ with one study). ``kind`` groups
    the rows (``primary``, ``leave-one-out``, ``risk-of-bias``, ``model``, ``ci-method``,
    ``correlation``); ``note`` says what a reader should know about this row, or is empty.
    """

    analysis: str
    estimate: float
    ci_low: float
    ci_high: float
    k: int
    kind: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The contract's keys first, then ``kind`` and ``note``."""
        return {"analysis": self.analysis, "estimate": float(self.estimate),
                "ci_low": float(self.ci_low), "ci_high": float(self.ci_high), "k": int(self.k),
                "kind": self.kind, "note": self.note}


class DirectionCheck(NamedTuple):
    """Whether the direction of the effect survives every sensitivity analysis.

    ``flips``: the analyses whose point estimate lies on the other side of no effect from the
    primary estimate's. ``loses_significance`` / ``gains_significance``: those whose interval
    comes to include no effect where the primary's excludes it, or the reverse (the direction is
    kept, the certainty of it is not). ``sentence`` says it in words, or is empty when nothing
    changes.
    """

    flips: tuple[str, ...]
    loses_significance: tuple[str, ...]
    gains_significance: tuple[str, ...]
    sentence: str

    @property
    def flipped(self) -> bool:
        """True when the direction flips under at least one analysis."""
        return bool(self.flips)


@dataclass(frozen=True, slots=True)
class SensitivityReport:
    """The primary analysis and its sensitivity analyses, frozen.

    Attributes
    ----------
    measure, method, ci_method
        The effect measure, the tau² estimator ("FE": common-effect) and the interval of the
        primary analysis.
    null
        The value of no effect on the reported scale: 1 for ratio measures, else 0.
    primary
        The primary analysis as a row (``kind == "primary"``).
    rows
        The sensitivity analyses, in the order of the module docstring.
    notes
        Analyses that could not be run and why (e.g. "no study is flagged at high risk of bias").
    leave_one_out
        Every leave-one-out fit (one row per omitted study), or None when k < 2.
    """

    measure: str
    method: str
    ci_method: str
    null: float
    primary: SensitivityRow
    rows: tuple[SensitivityRow, ...]
    notes: tuple[str, ...] = ()
    leave_one_out: pd.DataFrame | None = field(default=None, compare=False)

    def to_list(self) -> list[dict[str, Any]]:
        """The claims JSON ``sensitivity`` list: one dict per sensitivity analysis."""
        return [row.to_dict() for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis, the primary first; columns as :class:`SensitivityRow`."""
        return pd.DataFrame([self.primary._asdict()] + [row._asdict() for row in self.rows])

    def direction_check(self) -> DirectionCheck:
        """Does the direction flip, or the interval cross no effect, under any analysis?"""
        return direction_check(self.primary, self.rows, null=self.null)

    def summary(self) -> str:
        """A table for people: each analysis with its estimate, interval and k."""
        lines = [f"Sensitivity of the pooled {self.measure} "
                 f"({'natural scale, ' if self.null == 1 else ''}no effect = {self.null:g})"
                 if math.isfinite(self.null) else
                 f"Sensitivity of the pooled {self.measure} (natural scale, a single-group "
                 "measure: no value of no effect)"]
        for row in (self.primary,) + self.rows:
            lines.append(f"  {row.analysis}: {_fmt(row.estimate)} "
                         f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}], k = {row.k}"
                         + (f" ({row.note})" if row.note else ""))
        for note in self.notes:
            lines.append(f"  not run: {note}")
        check = self.direction_check()
        lines.append("  " + (check.sentence
                             or "The direction and the conclusion hold under every analysis."))
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _side(value: float, null: float) -> int:
    """-1, 0 or +1: which side of no effect ``value`` lies on (0 exactly at it or unknown)."""
    if not math.isfinite(value) or not math.isfinite(null) or value == null:
        return 0  # a NaN null: a single-group measure, which has no "no effect"
    return 1 if value > null else -1


def _excludes_null(row: SensitivityRow, null: float) -> bool:
    return (math.isfinite(row.ci_low) and math.isfinite(row.ci_high)
            and (row.ci_low > null or row.ci_high < null))


def direction_check(primary: SensitivityRow, rows: Sequence[SensitivityRow], *,
                    null: float = 0.0) -> DirectionCheck:
    """Compare each sensitivity analysis with the primary one.

    Parameters
    ----------
    primary
        The primary analysis.
    rows
        The sensitivity analyses.
    null
        No effect on the rows' scale: 1 for ratio measures on the natural scale, else 0.

    Returns
    -------
    DirectionCheck

    Notes
    -----
    A flip is a point estimate on the other side of no effect from the primary estimate's (a
    row without an estimate, or exactly at no effect, flips nothing). Significance is read from
    the intervals: an interval that excludes no effect where the primary's includes it, or the
    reverse. These are the two ways a sensitivity analysis can change the conclusion (Cochrane
    Handbook 10.14: "the results ... are robust" when neither happens).
    """
    side = _side(primary.estimate, null)
    flips = tuple(r.analysis for r in rows if side and _side(r.estimate, null) == -side)
    significant = _excludes_null(primary, null)
    loses = tuple(r.analysis for r in rows
                  if significant and math.isfinite(r.ci_low) and not _excludes_null(r, null))
    gains = tuple(r.analysis for r in rows if not significant and _excludes_null(r, null))
    parts = []
    if flips:
        parts.append("The direction of the effect flips " + _under(flips) + ".")
    if loses:
        parts.append("The interval includes no effect " + _under(loses) + ".")
    if gains:
        parts.append("The interval excludes no effect " + _under(gains) + ".")
    return DirectionCheck(flips=flips, loses_significance=loses, gains_significance=gains,
                          sentence=" ".join(parts))


def _under(analyses: Sequence[str]) -> str:
    names = [f"'{a}'" for a in analyses]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"under {listed}"


# ---------------------------------------------------------------------------------------------
# input checks


def _floats(name: str, values: ArrayLike) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers, one per study", field=name) from None
    return out


def _flags(high_risk: Sequence[bool] | None, k: int) -> np.ndarray | None:
    if high_risk is None:
        return None
    flags = list(high_risk)
    if len(flags) != k:
        raise InputError(f"high_risk must have one flag per study ({len(flags)} != {k})",
                         field="high_risk")
    bad = [i + 1 for i, f in enumerate(flags) if not isinstance(f, (bool, np.bool_))]
    if bad:
        raise InputError("high_risk flags must be True (high risk of bias) or False; check "
                         f"study/studies {', '.join(map(str, bad))}", field="high_risk")
    return np.asarray(flags, dtype=bool)


def _prepost_inputs(prepost: Mapping[str, ArrayLike] | None, measure: str, k: int
                    ) -> dict[str, np.ndarray] | None:
    if prepost is None:
        return None
    if measure not in PREPOST_MEASURES:
        raise InputError(f"pre-post inputs apply to {', '.join(sorted(PREPOST_MEASURES))} only, "
                         f"not {measure}", field="prepost")
    if not isinstance(prepost, Mapping):
        raise InputError("prepost must be a mapping of effect_sizes arguments (m1i, m2i, sd1i, "
                         "..., ni, ri)", field="prepost")
    out = {}
    for name, values in prepost.items():
        if values is None:
            continue
        arr = _floats(name, values)
        if arr.size != k:
            raise InputError(f"prepost[{name!r}] has {arr.size} values for {k} studies",
                             field=f"prepost.{name}")
        out[str(name)] = arr
    return out


# ---------------------------------------------------------------------------------------------
# the analyses


def _row(fit, analysis: str, kind: str, ratio: bool, note: str = "") -> SensitivityRow:
    back = math.exp if ratio else float
    est, lo, hi = (float(fit["estimate"]), float(fit["ci_low"]), float(fit["ci_high"]))
    values = [back(v) if math.isfinite(v) else math.nan for v in (est, lo, hi)]
    return SensitivityRow(analysis=analysis, estimate=values[0], ci_low=values[1],
                          ci_high=values[2], k=int(fit["k"]), kind=kind, note=note)


def _fit(y, v, method, ci, level, measure) -> dict[str, float]:
    res = pool(y, v, method=method, ci=ci, level=level, measure=measure, tau2_ci=False)
    return {"estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high, "k": res.k}


def _model_words(method: str, ci: str) -> str:
    model = "common-effect" if method == "FE" else f"random-effects ({method})"
    return f"{model}, {_CI_WORDS[ci]}"


def sensitivity_analyses(yi, vi=None, *, measure: str | None = None,
                         labels: Sequence[str] | None = None,
                         high_risk: Sequence[bool] | None = None,
                         prepost: Mapping[str, ArrayLike] | None = None,
                         assumed_ri: Sequence[float] = DEFAULT_ASSUMED_RI,
                         method: str = "REML", ci: str = "wald",
                         level: float = 95.0) -> SensitivityReport:
    """Refit one comparison's meta-analysis under each sensitivity analysis.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes (log scale for ratio measures) and their sampling variances, one per study;
        ``yi`` may instead be an :class:`evidencekit.stats.effects.EffectSizes` (then ``vi`` is
        omitted and its measure and labels are used).
    measure : str, optional
        The effect measure (e.g. "SMD", "RR"); ratio measures (RR, OR, ROM, HR) are reported on
        the natural scale. Default: the EffectSizes' measure, else "GEN".
    labels : sequence of str, optional
        Study labels (e.g. BibTeX keys), used to name the leave-one-out rows.
    high_risk : sequence of bool, optional
        Per study: True when it is at high risk of bias. Without it the risk-of-bias analysis is
        not run (and a note says so).
    prepost : mapping, optional
        SMCR/SMCC only: the :func:`~evidencekit.stats.effects.effect_sizes` arguments the effect sizes
        were computed from (``m1i, m2i, sd1i[, sd2i], ni`` and ``ri``, NaN where a study does not
        report it). The correlation sweep recomputes the effect sizes from them.
    assumed_ri : sequence of float
        The pre-post correlations swept for studies without a reported ``ri``.
    method : str
        tau² estimator of the primary analysis ("FE": common-effect), as :func:`pool`.
    ci : {"wald", "hksj"}
        Interval of the primary analysis.
    level : float
        Confidence level in percent.

    Returns
    -------
    SensitivityReport

    Raises
    ------
    evidencekit.errors.InputError
        Mismatched lengths, flags that are not booleans, pre-post inputs for another measure, or
        anything :func:`pool` refuses.

    Notes
    -----
    Cochrane Handbook 10.14 (sensitivity analyses): each row changes one decision of the primary
    analysis and keeps the others. Leave-one-out as metafor's ``leave1out`` (Viechtbauer &
    Cheung 2010); of its k fits the rows show the lowest and the highest estimate, and
    :attr:`SensitivityReport.leave_one_out` keeps them all. Common-effect vs random-effects:
    Handbook 10.10.4.1; the random-effects row uses REML when the primary is common-effect. HKSJ:
    Knapp & Hartung (2003), IntHout et al. (2014). Pre-post correlation: Handbook 6.5.2.8 and
    23.2.7.2 (impute only with a sensitivity analysis over plausible values); studies that report
    their correlation keep it in every row. Studies with a missing yi or vi are left out of every
    analysis, with one :class:`~evidencekit.stats.engine.MissingDataWarning`.
    """
    if vi is None and hasattr(yi, "yi") and hasattr(yi, "vi"):
        measure = measure or getattr(yi, "measure", None)
        labels = labels if labels is not None else getattr(yi, "labels", None)
        yi, vi = yi.yi, yi.vi
    if vi is None:
        raise InputError("sensitivity_analyses needs vi (sampling variances) alongside yi",
                         field="vi")
    measure = (measure or "GEN").upper()
    if method.upper() not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}",
                         field="method")
    if ci not in CI_METHODS:
        raise InputError(f"unknown ci {ci!r}: use one of {', '.join(CI_METHODS)}", field="ci")
    method = method.upper()
    y, v = _floats("yi", yi), _floats("vi", vi)
    if y.size != v.size:
        raise InputError(f"yi and vi must have the same length (got {y.size} and {v.size})",
                         field="vi")
    k_all = y.size
    names = [str(s) for s in labels] if labels is not None else [str(i + 1) for i in range(k_all)]
    if len(names) != k_all:
        raise InputError(f"labels must have one entry per study ({len(names)} != {k_all})",
                         field="labels")
    flags = _flags(high_risk, k_all)
    pre = _prepost_inputs(prepost, measure, k_all)
    sweep = tuple(float(r) for r in assumed_ri)
    if any(not -1 <= r <= 1 for r in sweep):
        raise InputError(f"assumed_ri values must lie in [-1, 1], got {list(sweep)}",
                         field="assumed_ri")

    # One set of studies for every row, so that they differ only by the analysis.
    keep = ~(np.isnan(y) | np.isnan(v))
    if not keep.all():
        warnings.warn("studies with missing yi or vi left out of every sensitivity analysis: "
                      + ", ".join(n for n, m in zip(names, keep) if not m),
                      MissingDataWarning, stacklevel=2)
        y, v = y[keep], v[keep]
        names = [n for n, m in zip(names, keep) if m]
        flags = None if flags is None else flags[keep]
        pre = None if pre is None else {n: a[keep] for n, a in pre.items()}
    k = y.size
    if k == 0:
        raise InputError("no studies to analyse (k = 0): every study lacks yi or vi")
    ratio = measure is not None and on_log_scale(measure)

    primary = _row(_fit(y, v, method, ci, level, measure),
                   f"primary: {_model_words(method, ci)}", "primary", ratio)
    rows: list[SensitivityRow] = []
    notes: list[str] = []

    loo = None
    if k >= 2:
        loo = leave_one_out(y, v, method=method, ci=ci, level=level, labels=names)
        # by position, not label: two studies may share a label (two results of one paper)
        estimates = loo["estimate"].to_numpy(dtype=float)
        for which, i in (("lowest", int(np.argmin(estimates))),
                         ("highest", int(np.argmax(estimates)))):
            rows.append(_row(loo.iloc[i], f"leave-one-out, {which}: without {names[i]}",
                             "leave-one-out", ratio,
                             f"of {k} fits each leaving one study out"))
    else:
        notes.append("leave-one-out needs at least 2 studies")

    if flags is None:
        notes.append("risk of bias not given per study: the analysis excluding high risk of bias "
                     "was not run")
    elif not flags.any():
        notes.append("no study is at high risk of bias: nothing to exclude")
    elif flags.all():
        notes.append("every study is at high risk of bias: none would remain")
    else:
        out = [n for n, f in zip(names, flags) if f]
        rows.append(_row(_fit(y[~flags], v[~flags], method, ci, level, measure),
                         "excluding high risk of bias", "risk-of-bias", ratio,
                         "without " + ", ".join(out)))

    if k >= 2:
        other = _RANDOM_DEFAULT if method == "FE" else "FE"
        rows.append(_row(_fit(y, v, other, ci, level, measure),
                         _model_words(other, ci), "model", ratio))
        other_ci = "wald" if ci == "hksj" else "hksj"
        rows.append(_row(_fit(y, v, method, other_ci, level, measure),
                         _model_words(method, other_ci), "ci-method", ratio))
    else:
        notes.append("one study: the model and the interval method cannot be compared")

    if measure in PREPOST_MEASURES:
        rows += _correlation_rows(pre, measure, sweep, method, ci, level, notes)

    return SensitivityReport(measure=measure, method=method, ci_method=ci,
                             null=1.0 if ratio else 0.0, primary=primary, rows=tuple(rows),
                             notes=tuple(notes), leave_one_out=loo)


def _correlation_rows(pre, measure, sweep, method, ci, level, notes) -> list[SensitivityRow]:
    if pre is None:
        notes.append(f"{measure} without its pre-post inputs: the assumed correlation could not "
                     "be swept (pass prepost=)")
        return []
    ri = pre.get("ri")
    missing = np.ones(next(iter(pre.values())).size, bool) if ri is None else np.isnan(ri)
    if not missing.any():
        notes.append("every study reports its pre-post correlation: none was assumed")
        return []
    args = {n: a for n, a in pre.items() if n != "ri"}
    if ri is not None:
        args["ri"] = ri
    rows = []
    for r in sweep:
        es = effect_sizes(measure, assumed_ri=r, **args)
        rows.append(_row(_fit(es.yi, es.vi, method, ci, level, measure),
                         f"pre-post correlation {r:g} assumed", "correlation", False,
                         f"assumed for {int(missing.sum())} of {missing.size} studies"))
    return rows


def for_rating(rating, *, method: str | None = None, ci: str | None = None
               ) -> SensitivityReport | None:
    """The sensitivity analyses of a certainty rating's pooled estimate, or None.

    Parameters
    ----------
    rating
        A :class:`evidencekit.grade.certainty.CertaintyRating` (read through its ``main`` and ``items``
        attributes only).
    method, ci
        The primary analysis; by default the one the rating pooled with (``main.method`` and
        ``main.ci_method`` where it records them, else REML and Wald).

    Returns
    -------
    SensitivityReport or None
        None when the rating's estimate was not pooled here (``main.source`` other than
        "meta-analysis": a review's pooled result, whose studies we do not hold, or a single
        study), since there is nothing to re-run.

    Notes
    -----
    Each study enters as the rating pooled it: its effect size and variance on the analysis
    scale (``main.yi`` and ``main.vi`` where the rating keeps them; otherwise its estimate, mapped
    from the benefit scale with the first study's sign as the rating does, with the variance from
    its 95% CI by :func:`evidencekit.stats.conversions.se_from_ci`, Cochrane Handbook 6.3.1). A study whose
    overall risk of bias is "high" is flagged for the risk-of-bias analysis. Rows are on the
    scale of the claim's ``effect`` (the natural scale for ratio measures).
    """
    main = getattr(rating, "main", None)
    if main is None or getattr(main, "source", None) != "meta-analysis":
        return None
    by_record = {item.record: item for item in rating.items}
    missing = [r for r in main.records if r not in by_record]
    if missing:
        raise InputError(f"the pooled estimate names record(s) {', '.join(missing)} that the "
                         "rating's items do not hold", field="main.records")
    items = [by_record[r] for r in main.records]
    yi, vi = tuple(getattr(main, "yi", ()) or ()), tuple(getattr(main, "vi", ()) or ())
    if not (len(yi) == len(vi) == len(items)):
        sign = items[0].sign or 1
        se = se_from_ci([i.benefit_low for i in items], [i.benefit_high for i in items])
        yi, vi = tuple(i.benefit * sign for i in items), tuple(np.asarray(se) ** 2)
    return _single_group_natural(sensitivity_analyses(
        list(yi), list(vi), measure=main.measure, labels=[i.record for i in items],
        high_risk=[i.risk_of_bias == "high" for i in items],
        method=method or getattr(main, "method", None) or "REML",
        ci=ci or getattr(main, "ci_method", None) or "wald"))


def for_claim(rating) -> tuple[list[dict[str, Any]], str]:
    """What a claim carries: its ``sensitivity`` list and the sentence a flip needs, or "".

    ``([], "")`` when the rating's estimate was not pooled here (:func:`for_rating`). The
    sentence names the analyses under which the direction flips or the interval crosses no
    effect (:meth:`SensitivityReport.direction_check`), for the claim's caveats.
    """
    report = for_rating(rating)
    if report is None:
        return [], ""
    return report.to_list(), report.direction_check().sentence


def _single_group_natural(report: SensitivityReport) -> SensitivityReport:
    """Rows of a single-group measure back on the natural scale (the claim's ``effect`` scale,
    ``scales.to_natural``: expit for PLO, exp for PLN, ...), with no null to flip around."""
    import dataclasses

    from ..scales import to_natural as natural

    if report.measure not in SINGLE_GROUP_MEASURES:
        return report

    def back(row: SensitivityRow) -> SensitivityRow:
        return row._replace(**{k: natural(report.measure, getattr(row, k))
                               for k in ("estimate", "ci_low", "ci_high")})

    return dataclasses.replace(report, null=math.nan, primary=back(report.primary),
                               rows=tuple(back(r) for r in report.rows))
