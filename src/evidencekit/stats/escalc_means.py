"""Effect sizes from means, SDs and correlations, as metafor's ``escalc``: MD, SMD (Hedges' g),
ROM, the pre-post SMCR and SMCC, COR and ZCOR, and GEN (an estimate with its variance, SE, CI
or p-value).

Formulas: :func:`evidencekit.stats.effects.effect_sizes`, Notes.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ..errors import InputError
from .arrays import as_array, check_positive, frozen, same_length
from .conversions import se_from_ci, se_from_p

__all__ = ["hedges_correction", "two_group", "mean_change", "correlation", "generic"]


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

def two_group(measure, args, names):
    """MD, SMD and ROM from group means, SDs and sizes (formulas: :func:`effect_sizes`, Notes)."""
    a = {n: as_array(n, args.get(n)) for n in names}
    same_length(a)
    for n in ("sd1i", "sd2i"):
        check_positive(n, a[n], allow_zero=True)
    for n in ("n1i", "n2i"):
        check_positive(n, a[n])
    m1, sd1, n1, m2, sd2, n2 = (a[n] for n in names)
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


def mean_change(measure, args, names, assumed_ri):
    ri_given = args.get("ri")
    a = {n: as_array(n, args.get(n)) for n in names if n != "ri"}
    k = same_length(a)
    ri = np.full(k, np.nan) if ri_given is None else as_array("ri", ri_given, k)
    same_length({**a, "ri": ri})
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
    check_positive("ni", a["ni"])
    check_positive("sd1i", a["sd1i"])
    n = a["ni"]
    c = hedges_correction(n - 1)
    if measure == "SMCR":
        yi = c * (a["m1i"] - a["m2i"]) / a["sd1i"]
        vi = 2 * (1 - ri) / n + yi**2 / (2 * n)
    else:
        check_positive("sd2i", a["sd2i"])
        sd1, sd2 = a["sd1i"], a["sd2i"]
        sdd = np.sqrt(sd1**2 + sd2**2 - 2 * ri * sd1 * sd2)
        yi = c * (a["m1i"] - a["m2i"]) / sdd
        vi = 1 / n + yi**2 / (2 * n)
    return yi, vi, {"ri": frozen(ri), "ri_assumed": frozen(missing)}, assumptions

def correlation(measure, args):
    """COR and ZCOR from a correlation ri and sample size ni (formulas: :func:`effect_sizes`)."""
    ri = as_array("ri", args.get("ri"))
    ni = as_array("ni", args.get("ni"))
    same_length({"ri": ri, "ni": ni})
    check_positive("ni", ni)
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




def generic(args, ratio, level):
    yi = as_array("yi", args.get("yi"))
    assumptions = []
    given = [n for n in ("vi", "sei", "ci_lb", "pval") if args.get(n) is not None]
    if ratio:
        if (yi[~np.isnan(yi)] <= 0).any():
            raise InputError("ratio estimates must be positive (they are logged)", field="yi")
        yi = np.log(yi)
    if args.get("vi") is not None:
        vi = as_array("vi", args["vi"], yi.size)
    elif args.get("sei") is not None:
        vi = as_array("sei", args["sei"], yi.size) ** 2
    elif args.get("ci_lb") is not None or args.get("ci_ub") is not None:
        se = se_from_ci(as_array("ci_lb", args.get("ci_lb")), as_array("ci_ub", args.get("ci_ub")),
                        level=level, ratio=ratio)
        vi = se**2
        assumptions.append(f"standard errors derived from {level:g}% confidence intervals "
                           "(normal approximation; Cochrane Handbook 6.3.1)")
    elif args.get("pval") is not None:
        se = se_from_p(yi, as_array("pval", args["pval"]))
        vi = se**2
        assumptions.append("standard errors derived from two-sided p-values "
                           "(normal approximation; Cochrane Handbook 6.3.1)")
    else:
        raise InputError("GEN needs yi with vi, sei, ci_lb + ci_ub, or pval", field="vi")
    if len(given) > 1:
        raise InputError(f"give only one of vi, sei, ci_lb/ci_ub, pval (got {', '.join(given)})")
    same_length({"yi": yi, "vi": vi})
    check_positive("vi", vi)
    return yi, vi, assumptions
