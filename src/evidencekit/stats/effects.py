"""Per-study effect sizes and sampling variances, with R metafor's ``escalc`` conventions.

Measures: MD, SMD (Hedges' g), SMCR and SMCC (pre-post / within-subject), RR and OR (log scale),
RD (risk difference), ROM (log ratio of means), single-group proportions PR (raw), PLO (logit),
PFT (Freeman-Tukey double arcsine), PAS (arcsine), correlations COR (raw) and ZCOR (Fisher's z),
incidence rates IR (raw) and IRR (log rate ratio), GEN (an estimate given with its variance, SE,
95% CI or p-value). Argument names are metafor's (``m1i, sd1i, n1i, m2i, sd2i, n2i``,
``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``, ``xi, ni``, ``ri, ni``, ``x1i, t1i, x2i, t2i``,
``xi, ti``, ``yi, vi, sei``) so an R user's call carries over unchanged. The formulas live by
family in :mod:`~evidencekit.stats.escalc_counts` and :mod:`~evidencekit.stats.escalc_means`;
the Handbook conversions (SE from a CI or a p-value, SD from an SE or a CI) in
:mod:`~evidencekit.stats.conversions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scales import on_log_scale
from .arrays import frozen
from .escalc_counts import proportion, rates, two_by_two
from .escalc_means import correlation, generic, mean_change, two_group

__all__ = [
    "MEASURES", "COLUMNS", "EffectSizes", "RiSweep", "effect_sizes",
    "effect_sizes_from_frame", "ri_sweep", "TWO_BY_TWO_MEASURES", "csv_line",
]

MEASURES = ("MD", "SMD", "SMCR", "SMCC", "RR", "OR", "RD", "ROM", "PR", "PLO", "PFT", "PAS",
            "COR", "ZCOR", "IRR", "IR", "GEN")
#: Measures from counts (2x2 tables, events of one group, events per person-time): escalc's
#: continuity correction ``add``/``to`` applies to these.
COUNT_MEASURES = frozenset({"RR", "OR", "RD", "PR", "PLO", "PFT", "PAS", "IRR", "IR"})

#: Required columns per measure, metafor's argument names (DESIGN.md: the CLI's CSV contract).
COLUMNS: dict[str, tuple[str, ...]] = {
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "ROM": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "RR": ("ai", "bi", "ci", "di"),
    "OR": ("ai", "bi", "ci", "di"),
    "RD": ("ai", "bi", "ci", "di"),
    "PR": ("xi", "ni"),
    "PLO": ("xi", "ni"),
    "PFT": ("xi", "ni"),
    "PAS": ("xi", "ni"),
    "COR": ("ri", "ni"),
    "ZCOR": ("ri", "ni"),
    "IRR": ("x1i", "t1i", "x2i", "t2i"),
    "IR": ("xi", "ti"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
    "SMCC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "GEN": ("yi", "vi"),
}
_OPTIONAL = {"GEN": ("sei", "ci_lb", "ci_ub", "pval")}


@dataclass(frozen=True, slots=True)
class EffectSizes:
    """Effect sizes ``yi`` and sampling variances ``vi`` for one measure, frozen.

    ``assumptions`` lists every value that was assumed rather than reported (e.g. a pre-post
    correlation), so that it is named wherever the numbers are shown. ``ri`` and ``ri_assumed``
    (SMCR/SMCC) give the correlation used per study and whether it was assumed. ``corrected``
    (count measures: RR, OR, RD, PR, PLO, IRR, IR) marks studies to which ``add`` was added
    because a count was zero.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...] | None = None
    ri: np.ndarray | None = None
    ri_assumed: np.ndarray | None = None
    corrected: np.ndarray | None = None
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, sqrt(vi)."""
        return np.sqrt(self.vi)

    @property
    def k(self) -> int:
        return int(self.yi.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: yi, vi, sei, plus ri / ri_assumed / corrected where relevant."""
        cols: dict[str, Any] = {"yi": self.yi, "vi": self.vi, "sei": self.sei}
        if self.ri is not None:
            cols["ri"] = self.ri
            cols["ri_assumed"] = self.ri_assumed
        if self.corrected is not None:
            cols["corrected"] = self.corrected
        index = pd.Index(self.labels if self.labels is not None
                         else [str(i + 1) for i in range(self.k)], name="study")
        frame = pd.DataFrame(cols, index=index)
        frame.attrs["measure"] = self.measure
        frame.attrs["assumptions"] = list(self.assumptions)
        return frame

    def summary(self) -> str:
        """Text table of the effect sizes, naming the measure's conventions and any assumption."""
        scale = " (log scale)" if on_log_scale(self.measure) else ""
        lines = [f"{self.k} effect size(s), measure {self.measure}{scale}: "
                 f"{_DESCRIPTIONS[self.measure]}"]
        for note in self.assumptions:
            lines.append(f"  assumption: {note}")
        lines.append(self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"))
        return "\n".join(lines)


_DESCRIPTIONS = {
    "MD": "mean difference m1 - m2, v = sd1²/n1 + sd2²/n2",
    "SMD": "Hedges' g (exact gamma correction), v = 1/n1 + 1/n2 + g²/(2(n1+n2))",
    "SMCR": "standardised mean change, raw-score (pre-test SD) standardisation",
    "SMCC": "standardised mean change, change-score standardisation",
    "RR": "log risk ratio; 0.5 added to every cell of tables with a zero cell",
    "OR": "log odds ratio; 0.5 added to every cell of tables with a zero cell",
    "RD": "risk difference p1 - p2, v = p1(1-p1)/n1 + p2(1-p2)/n2; 0.5 added to every cell of "
          "tables with a zero cell",
    "PR": "proportion x/n, v = p(1-p)/n; 0.5 added to x and n - x where either is 0",
    "PLO": "logit proportion log(x/(n-x)), v = 1/x + 1/(n-x); 0.5 added where x or n - x is 0",
    "PFT": "Freeman-Tukey double arcsine of x/n, v = 1/(4n + 2)",
    "PAS": "arcsine square root of x/n, v = 1/(4n)",
    "COR": "correlation r, v = (1 - r²)²/(n - 1)",
    "ZCOR": "Fisher's z = atanh(r), v = 1/(n - 3)",
    "IRR": "log incidence rate ratio, v = 1/x1 + 1/x2; 0.5 added to both counts where one is 0",
    "IR": "incidence rate x/t, v = x/t²; 0.5 added to x where it is 0",
    "ROM": "log ratio of means",
    "GEN": "generic estimate with its sampling variance",
}

def effect_sizes(measure: str, *, labels: Sequence[str] | None = None, add: float | None = None,
                 to: str = "only0", drop00: bool = False, assumed_ri: float | None = None,
                 ratio: bool = False, level: float = 95.0, **args) -> EffectSizes:
    """Compute effect sizes and sampling variances as metafor's ``escalc`` does.

    Parameters
    ----------
    measure : {"MD", "SMD", "SMCR", "SMCC", "RR", "OR", "RD", "ROM", "PR", "PLO", "PFT", "PAS", \
"COR", "ZCOR", "IRR", "IR", "GEN"}
    labels : sequence of str, optional
        Study labels.
    add, to : float, str
        Continuity correction for the count measures (:data:`COUNT_MEASURES`), as metafor:
        ``add`` is added to every cell of the tables selected by ``to``: "only0" (tables with a
        zero cell; the default), "all", "if0all" (every table if any has a zero cell), "none".
        ``add`` defaults to metafor's: 0.5, except 0 for PFT and PAS (whose transformations are
        finite at 0 and 1).
    drop00 : bool
        RR, OR, RD, IRR: give NaN (the study is then left out of a fit, with a warning) for a
        table with no events, or only events, in both groups instead of correcting it. False by
        default, as in ``escalc`` (``rma.mh`` and ``rma.peto`` drop such tables by default).
    assumed_ri : float, optional
        SMCR/SMCC: the pre-post correlation used where ``ri`` is missing (NaN or not given).
        It is recorded in ``assumptions`` and in ``ri_assumed``; without it a missing ``ri`` is an
        error, so no correlation is ever assumed silently. See :func:`ri_sweep`.
    ratio : bool
        GEN only: the estimate (and CI) are ratios on the natural scale; they are logged.
    level : float
        GEN only: confidence level of ``ci_lb``/``ci_ub``.
    **args : array-like
        metafor's argument names. MD, SMD, ROM: ``m1i, sd1i, n1i, m2i, sd2i, n2i``.
        RR, OR, RD: ``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``). PR, PLO, PFT, PAS: ``xi, ni``.
        COR, ZCOR: ``ri, ni``. IRR: ``x1i, t1i, x2i, t2i``. IR: ``xi, ti``.
        SMCR: ``m1i, m2i, sd1i, ni, ri`` (m1i post, m2i pre, sd1i pre-test SD).
        SMCC: ``m1i, m2i, sd1i, sd2i, ni, ri``.
        GEN: ``yi`` with one of ``vi``, ``sei``, ``ci_lb`` + ``ci_ub``, or ``pval``.

    Returns
    -------
    EffectSizes

    Notes
    -----
    Formulas (metafor ``escalc``, vtype "LS"; Borenstein et al. 2009; Cochrane Handbook 6.5):

    - MD: yi = m1 - m2, vi = sd1²/n1 + sd2²/n2 (Handbook 6.5.1.1).
    - SMD: Hedges' g = c(m) (m1 - m2)/s_p, m = n1 + n2 - 2, s_p the pooled SD, c the exact
      correction (:func:`hedges_correction`); vi = 1/n1 + 1/n2 + g²/(2(n1 + n2)) (Hedges 1981;
      the large-sample variance metafor uses). statsmodels' ``effectsize_smd`` differs in both
      the correction (1 - 3/(4m-1)) and the variance (.../(2(N - 3.94))), so it is not used.
    - SMCR: yi = c(n-1)(m1 - m2)/sd1, vi = 2(1 - r)/n + yi²/(2n) (Becker 1988).
    - SMCC: sd_d = sqrt(sd1² + sd2² - 2 r sd1 sd2), yi = c(n-1)(m1 - m2)/sd_d,
      vi = 1/n + yi²/(2n) (Gibbons et al. 1993).
    - RR: log(p1) - log(p2), vi = 1/a - 1/n1 + 1/c - 1/n2; OR: logit(p1) - logit(p2),
      vi = 1/a + 1/b + 1/c + 1/d; RD: p1 - p2, vi = p1(1-p1)/n1 + p2(1-p2)/n2 (Handbook 6.4.1;
      p1 = a/n1, p2 = c/n2 after the continuity correction, as escalc computes them).
    - PR: p = x/n, vi = p(1-p)/n; PLO: log(x/(n-x)), vi = 1/x + 1/(n-x); PAS: asin(sqrt(x/n)),
      vi = 1/(4n); PFT: (asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1))))/2, vi = 1/(4n+2)
      (Freeman & Tukey 1950; Miller 1978). x and n - x get ``add`` where either is 0.
    - COR: yi = r, vi = (1 - r²)²/(n - 1); ZCOR: yi = atanh(r), vi = 1/(n - 3) (Fisher 1921).
      As escalc, vi is missing (NaN) for n <= 3.
    - IRR: log(x1/t1) - log(x2/t2), vi = 1/x1 + 1/x2; IR: x/t, vi = x/t² (Rothman, Greenland &
      Lash 2008, ch. 14); counts get ``add`` where one is 0.
    - ROM: log(m1/m2), vi = sd1²/(n1 m1²) + sd2²/(n2 m2²) (Hedges, Gurevitch & Curtis 1999).
    - GEN: vi given, or sei², or from a CI / p-value (:func:`se_from_ci`, :func:`se_from_p`).

    A table with no events (or only events) in both arms gets ``add`` in every cell like any other
    table with a zero cell, so it has a finite effect size, as in ``escalc`` (its default
    ``drop00=FALSE``); ``drop00=True`` leaves it out instead.
    Missing inputs give NaN effect sizes for that study (pooling then drops them with a warning).
    """
    if not isinstance(measure, str) or measure.upper() not in MEASURES:
        raise InputError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}",
                         field="measure")
    measure = measure.upper()
    known = set(COLUMNS[measure]) | set(_OPTIONAL.get(measure, ()))
    if measure in TWO_BY_TWO_MEASURES:
        known |= {"n1i", "n2i"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise InputError(f"{measure} does not take argument(s) {', '.join(unknown)}; it uses "
                         f"{', '.join(COLUMNS[measure])}", field=unknown[0])
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError(f"to must be 'only0', 'all', 'if0all' or 'none', not {to!r}", field="to")
    if add is None:
        add = 0.0 if measure in ("PFT", "PAS") else 0.5  # escalc's defaults
    extra: dict[str, Any] = {}
    assumptions: list[str] = []
    with np.errstate(all="ignore"):
        if measure in ("MD", "SMD", "ROM"):
            yi, vi = two_group(measure, args, COLUMNS[measure])
        elif measure in TWO_BY_TWO_MEASURES:
            yi, vi, extra = two_by_two(measure, args, add, to, drop00)
        elif measure in ("PR", "PLO", "PFT", "PAS"):
            yi, vi, extra = proportion(measure, args, add, to)
        elif measure in ("COR", "ZCOR"):
            yi, vi = correlation(measure, args)
        elif measure in ("IRR", "IR"):
            yi, vi, extra = rates(measure, args, COLUMNS[measure], add, to, drop00)
        elif measure in ("SMCR", "SMCC"):
            yi, vi, extra, assumptions = mean_change(measure, args, COLUMNS[measure], assumed_ri)
        else:
            yi, vi, assumptions = generic(args, ratio, level)
    k = yi.size
    if labels is not None:
        labels = tuple(str(s) for s in labels)
        if len(labels) != k:
            raise InputError(f"labels must have one entry per study ({len(labels)} != {k})",
                             field="labels")
    return EffectSizes(measure=measure, yi=frozen(yi), vi=frozen(vi), labels=labels,
                       assumptions=tuple(assumptions), **extra)


#: Measures of a 2x2 table (events and non-events in two groups).
TWO_BY_TWO_MEASURES = ("RR", "OR", "RD")

# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiSweep:
    """SMCR/SMCC effect sizes recomputed for several assumed pre-post correlations.

    ``yi`` and ``vi`` are 2-D (one row per assumed value), ready for
    ``evidencekit.pool_many(sweep.yi, sweep.vi)``; reported correlations are kept as reported.
    """

    measure: str
    assumed: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    ri_assumed: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per (assumed ri, study)."""
        k = self.yi.shape[1]
        return pd.DataFrame({
            "assumed_ri": np.repeat(self.assumed, k),
            "study": np.tile(np.arange(1, k + 1), self.assumed.size),
            "yi": self.yi.ravel(), "vi": self.vi.ravel(),
            "ri_assumed": np.tile(self.ri_assumed, self.assumed.size)})

    def summary(self) -> str:
        """One line per assumed correlation: the sampling variances it gives (reported ri kept).
        Variances, because SMCR's yi does not depend on r; its weight in a pooled result does."""
        kept = int((~self.ri_assumed.astype(bool)).sum())
        lines = [f"{self.measure} effect sizes for {self.assumed.size} assumed pre-post "
                 f"correlation(s); {kept} of {self.yi.shape[1]} stud(ies) report their own ri "
                 "and keep it"]
        for r, row in zip(self.assumed, self.vi):
            lines.append(f"  ri = {r:g}: vi " + ", ".join(f"{v:.4f}" for v in row))
        return "\n".join(lines)


def ri_sweep(measure: str, assumed: Sequence[float] = (0.2, 0.5, 0.8), **args) -> RiSweep:
    """Sensitivity of SMCR/SMCC effect sizes to the assumed pre-post correlation.

    Cochrane Handbook 6.5.2.8 and 23.2.7.2 advise imputing a correlation only with a sensitivity
    analysis over plausible values; pass the sweep to ``pool_many`` to see the pooled result for
    each. Studies that report ``ri`` keep it.

    Notes
    -----
    Each row is :func:`effect_sizes` with ``assumed_ri`` set to one value; the SMCR and SMCC
    variances depend on r (2(1 - r)/n for SMCR, through sd_d for SMCC; Becker 1988, Gibbons et
    al. 1993), so the sweep shows how far the pooled result rests on the assumption.
    """
    measure = measure.upper()
    if measure not in ("SMCR", "SMCC"):
        raise InputError("ri_sweep applies to SMCR and SMCC only", field="measure")
    vals = np.asarray(list(assumed), dtype=float)
    if vals.size == 0:
        raise InputError("give at least one assumed correlation", field="assumed")
    rows = [effect_sizes(measure, assumed_ri=float(r), **args) for r in vals]
    return RiSweep(measure=measure, assumed=vals, yi=np.vstack([r.yi for r in rows]),
                   vi=np.vstack([r.vi for r in rows]), ri_assumed=rows[0].ri_assumed)


def effect_sizes_from_frame(frame: pd.DataFrame, measure: str, *, label_column: str | None = None,
                            assumed_ri: float | None = None, source: str | None = None,
                            **kwargs) -> EffectSizes:
    """Effect sizes from a DataFrame whose columns use metafor's argument names (the CLI's CSV).

    Columns: see :data:`COLUMNS` (``m1i,sd1i,n1i,m2i,sd2i,n2i`` for MD/SMD/ROM; ``ai,bi,ci,di``
    or ``ai,n1i,ci,n2i`` for RR/OR/RD; ``xi,ni`` for PR/PLO/PFT/PAS; ``ri,ni`` for COR/ZCOR;
    ``x1i,t1i,x2i,t2i`` for IRR; ``xi,ti`` for IR; ``m1i,m2i,sd1i,(sd2i),ni,ri`` for SMCR/SMCC;
    ``yi,vi`` (or ``sei``) for GEN).
    A missing column or a non-numeric value raises :class:`InputError` naming the column and the
    CSV line (the header is line 1; an index named ``"line"`` gives each row's line, as the CLI's
    reader sets it). Empty cells are
    missing values; ``ri`` may be absent or empty when ``assumed_ri`` is given.
    """
    if not isinstance(measure, str) or measure.upper() not in MEASURES:
        raise InputError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}",
                         field="measure", file=source)
    measure = measure.upper()
    required = list(COLUMNS[measure])
    if measure == "GEN" and "vi" not in frame.columns and "sei" in frame.columns:
        required = ["yi", "sei"]
    if measure in TWO_BY_TWO_MEASURES:
        for cell, total in (("bi", "n1i"), ("di", "n2i")):
            if cell not in frame.columns and total in frame.columns:
                required[required.index(cell)] = total
    if measure in ("SMCR", "SMCC") and assumed_ri is not None:
        required = [c for c in required if c != "ri"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise InputError(f"missing column(s) {', '.join(missing)} for measure {measure}; "
                         f"expected {', '.join(COLUMNS[measure])} (metafor's names); the file "
                         f"has: {found}", field=missing[0], file=source, line=1 if source else None)
    use = required + ([c for c in ("ri",) if c in frame.columns and c not in required]
                      if measure in ("SMCR", "SMCC") else [])
    values = {}
    for col in use:
        series = pd.to_numeric(frame[col], errors="coerce")
        bad = series.isna() & frame[col].notna() & (frame[col].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.nonzero(bad.to_numpy())[0][0])
            raise InputError(f"column {col} holds a non-number {frame[col].iloc[row]!r}; write "
                             "the number alone (no units, '%' or '<'; a full stop as the decimal "
                             "point), or leave the cell empty if it is not reported",
                             file=source, line=csv_line(frame, row), field=col)
        values[col] = series.to_numpy(dtype=float)
    labels = (frame[label_column].astype(str).tolist() if label_column
              and label_column in frame.columns else None)
    try:
        return effect_sizes(measure, labels=labels, assumed_ri=assumed_ri, **values, **kwargs)
    except InputError as exc:
        if source and exc.file is None:
            raise InputError(exc.message, file=source, field=exc.field) from None
        raise


def csv_line(frame: pd.DataFrame, row: int) -> int:
    """The CSV line of a frame's ``row``: the index when the reader kept line numbers there (the
    CLI's reader does, so blank lines do not shift it), else the row + 2 (header is line 1)."""
    if frame.index.name == "line":
        return int(frame.index[row])
    return row + 2
