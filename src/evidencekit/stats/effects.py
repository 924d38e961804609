"""Per-study effect sizes and sampling variances, with R metafor's ``escalc`` conventions.

Measures: MD, SMD (Hedges' g), SMCR and SMCC (pre-post / within-subject), RR and OR (log scale),
RD (risk difference), ROM (log ratio of means), single-group proportions PR (raw), PLO (logit),
PFT (Freeman-Tukey double arcsine), PAS (arcsine), correlations COR (raw) and ZCOR (Fisher's z),
incidence rates IR (raw) and IRR (log rate ratio), GEN (an estimate given with its variance, SE,
95% CI or p-value). Argument names are metafor's (``m1i, sd1i, n1i, m2i, sd2i, n2i``,
``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``, ``xi, ni``, ``ri, ni``, ``x1i, t1i, x2i, t2i``,
``xi, ti``, ``yi, vi, sei``) so an R user's call carries over unchanged. Conversions a reviewer needs (SE from a
CI or a p-value, SD from an SE or a CI) follow the Cochrane Handbook, chapter 6.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from ..vocab import RATIO_MEASURES
from ..errors import InputError

__all__ = [
    "MEASURES", "RATIO_MEASURES", "COLUMNS", "EffectSizes", "RiSweep", "effect_sizes",
    "effect_sizes_from_frame", "ri_sweep", "hedges_correction", "se_from_ci", "se_from_p",
    "sd_from_se", "sd_from_ci",
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
        scale = " (log scale)" if self.measure in RATIO_MEASURES else ""
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


def hedges_correction(m) -> np.ndarray:
    """Exact small-sample bias correction c(m) = Γ(m/2) / (sqrt(m/2) Γ((m-1)/2)).

    Notes
    -----
    Hedges (1981, J Educ Stat 6:107), eq. 6c; metafor's ``.cmicalc``. Computed with log-gamma
    to avoid overflow. statsmodels' ``effectsize_smd`` uses the approximation 1 - 3/(4m - 1)
    instead, which differs from this in the 4th-5th decimal for small m.
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(all="ignore"):
        return np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))


def _arr(name: str, value, k: int | None = None) -> np.ndarray:
    if value is None:
        raise InputError(f"missing argument {name!r}", field=name)
    try:
        a = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers: {exc}", field=name) from None
    if k is not None and a.size == 1 and k > 1:
        a = np.repeat(a, k)
    return a


def _same_length(named: dict[str, np.ndarray]) -> int:
    sizes = {n: a.size for n, a in named.items()}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{n}={s}" for n, s in sizes.items())
        raise InputError(f"inputs must have one value per study and the same length ({detail})")
    return next(iter(sizes.values())) if sizes else 0


def _positive(name: str, a: np.ndarray, allow_zero: bool = False) -> None:
    bad = ~np.isnan(a) & ((a < 0) if allow_zero else (a <= 0))
    bad |= np.isinf(a)
    if bad.any():
        idx = ", ".join(str(i + 1) for i in np.nonzero(bad)[0])
        req = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be finite and {req}; check study/studies {idx}", field=name)


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
    if measure in _TWO_BY_TWO:
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
            yi, vi = _two_group(measure, args)
        elif measure in _TWO_BY_TWO:
            yi, vi, extra = _two_by_two(measure, args, add, to, drop00)
        elif measure in ("PR", "PLO", "PFT", "PAS"):
            yi, vi, extra = _proportion(measure, args, add, to)
        elif measure in ("COR", "ZCOR"):
            yi, vi = _correlation(measure, args)
        elif measure in ("IRR", "IR"):
            yi, vi, extra = _rates(measure, args, add, to, drop00)
        elif measure in ("SMCR", "SMCC"):
            yi, vi, extra, assumptions = _mean_change(measure, args, assumed_ri)
        else:
            yi, vi, assumptions = _generic(args, ratio, level)
    k = yi.size
    if labels is not None:
        labels = tuple(str(s) for s in labels)
        if len(labels) != k:
            raise InputError(f"labels must have one entry per study ({len(labels)} != {k})",
                             field="labels")
    return EffectSizes(measure=measure, yi=_frozen(yi), vi=_frozen(vi), labels=labels,
                       assumptions=tuple(assumptions), **extra)


_TWO_BY_TWO = ("RR", "OR", "RD")


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


def _two_by_two(measure, args, add, to, drop00=False):
    """RR, OR and RD from a 2x2 table per study (formulas: :func:`effect_sizes`, Notes)."""
    ai = _arr("ai", args.get("ai"))
    ci = _arr("ci", args.get("ci"))
    cells_given = {}
    for cell, total, events in (("bi", "n1i", ai), ("di", "n2i", ci)):
        if args.get(cell) is not None:
            cells_given[cell] = _arr(cell, args[cell])
        elif args.get(total) is not None:
            n = _arr(total, args[total])
            _same_length({"ai" if cell == "bi" else "ci": events, total: n})
            _positive(total, n, allow_zero=True)
            _not_above("ai" if cell == "bi" else "ci", events, total, n)
            cells_given[cell] = n - events
        else:
            cells_given[cell] = _arr(cell, None)
    bi, di = cells_given["bi"], cells_given["di"]
    _same_length({"ai": ai, "bi": bi, "ci": ci, "di": di})
    for n, a in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        _positive(n, a, allow_zero=True)
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


def _proportion(measure, args, add, to):
    """PR, PLO, PFT, PAS from events xi out of ni in one group (formulas: :func:`effect_sizes`)."""
    xi = _arr("xi", args.get("xi"))
    ni = _arr("ni", args.get("ni"))
    _same_length({"xi": xi, "ni": ni})
    _positive("xi", xi, allow_zero=True)
    _positive("ni", ni)
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


def _correlation(measure, args):
    """COR and ZCOR from a correlation ri and sample size ni (formulas: :func:`effect_sizes`)."""
    ri = _arr("ri", args.get("ri"))
    ni = _arr("ni", args.get("ni"))
    _same_length({"ri": ri, "ni": ni})
    _positive("ni", ni)
    bad = ~np.isnan(ri) & ((ri < -1) | (ri > 1))
    if bad.any():
        raise InputError("ri (correlation) must lie in [-1, 1]; check study/studies "
                         + ", ".join(str(i + 1) for i in np.nonzero(bad)[0]), field="ri")
    if measure == "COR":
        yi, vi = ri.copy(), (1 - ri**2) ** 2 / (ni - 1)
    else:
        yi, vi = np.arctanh(ri), 1 / (ni - 3)
    vi = np.where(ni <= 3, np.nan, vi)  # escalc: no sampling variance from 3 or fewer pairs
    return yi, vi


def _rates(measure, args, add, to, drop00=False):
    """IRR from events and person-time in two groups, IR in one (formulas: :func:`effect_sizes`)."""
    names = COLUMNS[measure]
    a = {n: _arr(n, args.get(n)) for n in names}
    _same_length(a)
    for n in names:
        if n.startswith("x"):
            _positive(n, a[n], allow_zero=True)
        else:
            _positive(n, a[n])
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


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=float) if not (isinstance(a, np.ndarray) and a.dtype == bool) \
        else a.copy()
    a.flags.writeable = False
    return a


def _two_group(measure, args):
    """MD, SMD and ROM from group means, SDs and sizes (formulas: :func:`effect_sizes`, Notes)."""
    a = {n: _arr(n, args.get(n)) for n in COLUMNS[measure]}
    _same_length(a)
    for n in ("sd1i", "sd2i"):
        _positive(n, a[n], allow_zero=True)
    for n in ("n1i", "n2i"):
        _positive(n, a[n])
    m1, sd1, n1, m2, sd2, n2 = (a[n] for n in COLUMNS[measure])
    if measure == "MD":
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    if measure == "SMD":
        mi = n1 + n2 - 2
        sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
        yi = hedges_correction(mi) * (m1 - m2) / sp
        return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    bad = np.nonzero((m1 <= 0) | (m2 <= 0))[0]
    if bad.size:
        raise InputError("ROM needs positive means (a ratio of means on the log scale); check "
                         f"study/studies {', '.join(str(i + 1) for i in bad)}", field="m1i")
    return np.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)


def _mean_change(measure, args, assumed_ri):
    names = COLUMNS[measure]
    ri_given = args.get("ri")
    a = {n: _arr(n, args.get(n)) for n in names if n != "ri"}
    k = _same_length(a)
    ri = np.full(k, np.nan) if ri_given is None else _arr("ri", ri_given, k)
    _same_length({**a, "ri": ri})
    bad = ~np.isnan(ri) & ((ri < -1) | (ri > 1))
    if bad.any():
        raise InputError("ri (pre-post correlation) must lie in [-1, 1]; check study/studies "
                         + ", ".join(str(i + 1) for i in np.nonzero(bad)[0]), field="ri")
    missing = np.isnan(ri)
    assumptions = []
    if missing.any():
        if assumed_ri is None:
            raise InputError(
                f"{measure} needs the pre-post correlation ri, which is missing for study/studies "
                + ", ".join(str(i + 1) for i in np.nonzero(missing)[0])
                + ": give assumed_ri= (and check it with ri_sweep), or report it", field="ri")
        if not -1 <= float(assumed_ri) <= 1:
            raise InputError(f"assumed_ri must lie in [-1, 1], not {assumed_ri!r}", field="ri")
        ri = np.where(missing, float(assumed_ri), ri)
        assumptions.append(
            f"pre-post correlation ri = {float(assumed_ri):g} assumed (not reported) for "
            f"{int(missing.sum())} of {k} stud{'y' if k == 1 else 'ies'} "
            f"(positions {', '.join(str(i + 1) for i in np.nonzero(missing)[0])})")
    _positive("ni", a["ni"])
    _positive("sd1i", a["sd1i"])
    n = a["ni"]
    c = hedges_correction(n - 1)
    if measure == "SMCR":
        yi = c * (a["m1i"] - a["m2i"]) / a["sd1i"]
        vi = 2 * (1 - ri) / n + yi**2 / (2 * n)
    else:
        _positive("sd2i", a["sd2i"])
        sd1, sd2 = a["sd1i"], a["sd2i"]
        sdd = np.sqrt(sd1**2 + sd2**2 - 2 * ri * sd1 * sd2)
        yi = c * (a["m1i"] - a["m2i"]) / sdd
        vi = 1 / n + yi**2 / (2 * n)
    return yi, vi, {"ri": _frozen(ri), "ri_assumed": _frozen(missing)}, assumptions


def _generic(args, ratio, level):
    yi = _arr("yi", args.get("yi"))
    assumptions = []
    given = [n for n in ("vi", "sei", "ci_lb", "pval") if args.get(n) is not None]
    if ratio:
        if (yi[~np.isnan(yi)] <= 0).any():
            raise InputError("ratio estimates must be positive (they are logged)", field="yi")
        yi = np.log(yi)
    if args.get("vi") is not None:
        vi = _arr("vi", args["vi"], yi.size)
    elif args.get("sei") is not None:
        vi = _arr("sei", args["sei"], yi.size) ** 2
    elif args.get("ci_lb") is not None or args.get("ci_ub") is not None:
        se = se_from_ci(_arr("ci_lb", args.get("ci_lb")), _arr("ci_ub", args.get("ci_ub")),
                        level=level, ratio=ratio)
        vi = se**2
        assumptions.append(f"standard errors derived from {level:g}% confidence intervals "
                           "(normal approximation; Cochrane Handbook 6.3.1)")
    elif args.get("pval") is not None:
        se = se_from_p(yi, _arr("pval", args["pval"]))
        vi = se**2
        assumptions.append("standard errors derived from two-sided p-values "
                           "(normal approximation; Cochrane Handbook 6.3.1)")
    else:
        raise InputError("GEN needs yi with vi, sei, ci_lb + ci_ub, or pval", field="vi")
    if len(given) > 1:
        raise InputError(f"give only one of vi, sei, ci_lb/ci_ub, pval (got {', '.join(given)})")
    _same_length({"yi": yi, "vi": vi})
    _positive("vi", vi)
    return yi, vi, assumptions


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
    if measure in _TWO_BY_TWO:
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
                             file=source, line=_csv_line(frame, row), field=col)
        values[col] = series.to_numpy(dtype=float)
    labels = (frame[label_column].astype(str).tolist() if label_column
              and label_column in frame.columns else None)
    try:
        return effect_sizes(measure, labels=labels, assumed_ri=assumed_ri, **values, **kwargs)
    except InputError as exc:
        if source and exc.file is None:
            raise InputError(exc.message, file=source, field=exc.field) from None
        raise


def _csv_line(frame: pd.DataFrame, row: int) -> int:
    """The CSV line of a frame's ``row``: the index when the reader kept line numbers there (the
    CLI's reader does, so blank lines do not shift it), else the row + 2 (header is line 1)."""
    if frame.index.name == "line":
        return int(frame.index[row])
    return row + 2


# ---------------------------------------------------------------------------------------------
# conversions (Cochrane Handbook for Systematic Reviews of Interventions v6.4, chapter 6)


def _crit(level: float, df=None):
    alpha = 1 - level / 100
    if df is None:
        return stats.norm.isf(alpha / 2)
    return stats.t.isf(alpha / 2, np.asarray(df, float))


def se_from_ci(lower, upper, level: float = 95.0, *, ratio: bool = False, df=None):
    """Standard error from a confidence interval.

    Notes
    -----
    SE = (upper - lower) / (2 z_(1-α/2)) — Cochrane Handbook 6.3.1 (absolute measures; 3.92 for a
    95% CI is 2 × 1.96, here the exact quantile) and 6.3.2 (ratio measures: take logs of the
    limits first, ``ratio=True``). With ``df`` the t quantile replaces z (Handbook 6.5.2.3, small
    samples).
    """
    lo = np.asarray(lower, float)
    hi = np.asarray(upper, float)
    if ratio:
        if (lo <= 0).any() or (hi <= 0).any():
            raise InputError("ratio confidence limits must be positive (they are logged)")
        lo, hi = np.log(lo), np.log(hi)
    if (hi < lo).any():
        raise InputError("upper confidence limit below the lower one")
    return (hi - lo) / (2 * _crit(level, df))


def se_from_p(estimate, p, *, df=None):
    """Standard error from an estimate and its two-sided p-value.

    Notes
    -----
    z = Φ⁻¹(1 - p/2), SE = |estimate| / z — Cochrane Handbook 6.3.1 (use the log estimate for
    ratio measures, 6.3.2). With ``df`` the t quantile is used. p must be in (0, 1); p values
    given as "< 0.001" cannot be used this way.
    """
    p = np.asarray(p, float)
    if ((p <= 0) | (p >= 1)).any():
        raise InputError("p-values must lie strictly between 0 and 1")
    crit = stats.norm.isf(p / 2) if df is None else stats.t.isf(p / 2, np.asarray(df, float))
    return np.abs(np.asarray(estimate, float)) / crit


def sd_from_se(se, n):
    """SD of a group from the standard error of its mean: SD = SE sqrt(n) (Handbook 6.5.2.2)."""
    return np.asarray(se, float) * np.sqrt(np.asarray(n, float))


def sd_from_ci(lower, upper, n, level: float = 95.0, *, dist: str = "t"):
    """SD of a group from a confidence interval for its mean.

    Notes
    -----
    SD = sqrt(n) (upper - lower) / (2 q) — Cochrane Handbook 6.5.2.2. The Handbook's 3.92
    (q = 1.96) holds for large samples; for small samples it advises the t quantile with n - 1
    df, which is the default here (``dist="t"``); ``dist="z"`` uses the normal quantile.
    """
    n = np.asarray(n, float)
    if dist not in ("t", "z"):
        raise InputError("dist must be 't' or 'z'")
    se = se_from_ci(lower, upper, level, df=(n - 1) if dist == "t" else None)
    return se * np.sqrt(n)

