"""Mantel-Haenszel (RR, OR, RD) and Peto's odds ratio for 2x2 tables, as R metafor.

RevMan's defaults for dichotomous outcomes. Both are common-effect methods that pool the tables
themselves rather than per-study effect sizes, so they need no continuity correction for single
zero cells; metafor's :func:`rma.mh` and :func:`rma.peto` defaults are followed throughout.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..scales import on_log_scale, to_natural
from .arrays import frozen
from .distributions import critical_value
from .effects import effect_sizes
from .engine import MissingDataWarning
from .formatting import number, p_comparison
from .inference import PooledEstimate

__all__ = ["MH_MEASURES", "TableResult", "mantel_haenszel", "peto"]

#: Measures Mantel-Haenszel pooling supports (log scale for RR and OR, as metafor prints them).
MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True, slots=True)
class TableResult(PooledEstimate):
    """A Mantel-Haenszel or Peto fit, frozen. Attributes carry the ``pool`` JSON keys.

    ``estimate`` is on the log scale for OR and RR (metafor's ``b``); ``q``, ``i2``, ``h2`` and
    ``q_p`` describe heterogeneity of the per-study effect sizes ``yi`` about the pooled value on
    ``k_yi - 1`` df, as metafor computes them; ``weight`` is each table's share (percent) of the
    method's weights (metafor's ``weights()``). ``tau2`` is 0: both are common-effect methods.
    """

    k: int
    k_yi: int
    measure: str
    method: str
    level: float
    q: float
    q_p: float
    i2: float
    h2: float
    dropped: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    tau2: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``evidencekit pool --method MH|PETO --format json`` payload (contract keys first;
        tau² is 0 and the prediction interval is not defined for a common-effect method)."""
        return {"k": self.k, "measure": self.measure, "method": self.method,
                "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "z": self.z, "p": self.p, "tau2": 0.0, "i2": self.i2,
                "h2": self.h2, "q": self.q, "q_p": self.q_p, "pi_low": math.nan,
                "pi_high": math.nan, "level": self.level, "ci_method": "wald", "k_yi": self.k_yi,
                "notes": list(self.notes),
                "studies": [study._asdict() for study in self.studies]}

    def to_frame(self) -> pd.DataFrame:
        """One row: k, measure, method, estimate, se, ci_low, ci_high, z, p, q, q_p, i2, h2."""
        keys = ("k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p", "q",
                "q_p", "i2", "h2")
        return pd.DataFrame([{key: getattr(self, key) for key in keys}])

    def summary(self) -> str:
        """A text report naming the method, scale and heterogeneity."""
        name = ("Mantel-Haenszel" if self.method == "MH" else "Peto") + f" ({self.measure})"
        ratio = on_log_scale(self.measure)
        lines = [f"{name} common-effect meta-analysis of {self.k} tables",
                 f"  estimate {number(self.estimate)}{' (log scale)' if ratio else ''} "
                 f"(se {number(self.se)}), {self.level:g}% CI [{number(self.ci_low)}, {number(self.ci_high)}], "
                 f"z = {number(self.z)}, p {p_comparison(self.p)}"]
        if ratio and math.isfinite(self.estimate):
            natural = [to_natural(self.measure, x) for x in (self.estimate, self.ci_low, self.ci_high)]
            lines.append(f"  back-transformed ({self.measure}): {number(natural[0])} "
                         f"[{number(natural[1])}, {number(natural[2])}]")
        lines.append(f"  heterogeneity: Q = {number(self.q)} (df = {self.k_yi - 1}), p "
                     f"{p_comparison(self.q_p)}, I² = {number(self.i2, 1)}%, H² = {number(self.h2)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _tables(ai, bi, ci, di, n1i, n2i, labels):
    """Complete tables as float arrays (rows with a missing count dropped, with a warning)."""
    es_args = {"ai": ai, "ci": ci}
    es_args.update({"bi": bi} if bi is not None else {"n1i": n1i})
    es_args.update({"di": di} if di is not None else {"n2i": n2i})
    # effect_sizes checks counts (non-negative, events <= group size) and gives b, d from n
    effect_sizes("RD", to="none", **es_args)
    a = np.asarray(ai, float).ravel()
    c = np.asarray(ci, float).ravel()
    b = (np.asarray(bi, float).ravel() if bi is not None else np.asarray(n1i, float).ravel() - a)
    d = (np.asarray(di, float).ravel() if di is not None else np.asarray(n2i, float).ravel() - c)
    labels = [str(s) for s in labels] if labels is not None else [str(i + 1) for i in
                                                                  range(a.size)]
    if len(labels) != a.size:
        raise InputError(f"labels must have one entry per study ({len(labels)} != {a.size})",
                         field="labels")
    missing = np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d)
    dropped = tuple(int(i) for i in np.nonzero(missing)[0])
    if dropped:
        warnings.warn(f"{len(dropped)} table(s) with a missing count left out: "
                      + ", ".join(labels[i] for i in dropped), MissingDataWarning, stacklevel=3)
    keep = ~missing
    if not keep.any():
        raise InputError("no complete 2x2 tables to pool (k = 0)", field="ai")
    return a[keep], b[keep], c[keep], d[keep], [s for s, m in zip(labels, keep) if m], dropped


def _heterogeneity(measure, a, b, c, d, beta, add, to):
    """Per-study yi, vi (escalc, drop00 = TRUE: metafor's first element of add/to/drop00) and
    Q of the yi about the pooled value, with I² and H² on k_yi - 1 df (metafor rma.mh/rma.peto).
    """
    if measure == "PETO":
        with np.errstate(all="ignore"):
            cells, _ = _corrected(np.column_stack([a, b, c, d]), add, to, drop00=True)
            aa, bb, cc, dd = cells.T
            n1, n2 = aa + bb, cc + dd
            n = n1 + n2
            xt, yt = aa + cc, bb + dd
            e = xt * n1 / n
            var = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
            yi, vi = (aa - e) / var, 1 / var
    else:
        es = effect_sizes(measure, ai=a, bi=b, ci=c, di=d, add=add, to=to, drop00=True)
        yi, vi = np.array(es.yi), np.array(es.vi)
    ok = ~(np.isnan(yi) | np.isnan(vi))
    return yi, vi, ok


def _corrected(cells, add, to, drop00):
    a, b, c, d = cells.T
    cells = cells.copy()
    if drop00:
        cells[((a == 0) & (c == 0)) | ((b == 0) & (d == 0))] = np.nan
    zero = (cells == 0).any(axis=1)
    rows = zero if to == "only0" else (np.ones(len(cells), bool) if to == "all" else
                                       np.full(len(cells), bool(zero.any())) if to == "if0all"
                                       else np.zeros(len(cells), bool))
    return cells + np.where(rows, add, 0.0)[:, None], rows


def _q_stats(yi, vi, ok, beta):
    k_yi = int(ok.sum())
    if k_yi > 1:
        w = 1 / vi[ok]
        q = max(0.0, float((w * (yi[ok] - beta) ** 2).sum()))
        return k_yi, q, float(stats.chi2.sf(q, k_yi - 1)), _i2(q, k_yi), q / (k_yi - 1)
    return k_yi, 0.0, 1.0, 0.0, 1.0


def _i2(q, k_yi):
    # metafor: max(0, 100 (Q - df)/Q), which is 0 when Q = 0 (-Inf truncated)
    return max(0.0, 100 * (q - (k_yi - 1)) / q) if q > 0 else 0.0


def _wald(beta, se, level):
    crit = critical_value(level)
    z = beta / se
    return z, float(2 * stats.norm.sf(abs(z))), beta - crit * se, beta + crit * se


def mantel_haenszel(measure: str = "OR", *, ai, ci, bi=None, di=None, n1i=None, n2i=None,
                    labels: Sequence[str] | None = None, level: float = 95.0,
                    add: float = 0.5, to: str = "only0") -> TableResult:
    """Mantel-Haenszel pooled OR, RR or RD, as metafor's ``rma.mh``.

    Parameters
    ----------
    measure : {"OR", "RR", "RD"}
    ai, bi, ci, di : array-like
        Events and non-events in groups 1 and 2 (or give ``n1i``/``n2i`` instead of ``bi``/``di``).
    labels : sequence of str, optional
    level : float
        Confidence level in percent.
    add, to : float, str
        The continuity correction of the per-study effect sizes used for Q and I² only (metafor's
        ``add[1]``, ``to[1]``); the Mantel-Haenszel estimate uses the counts as they are.

    Returns
    -------
    TableResult
        ``estimate`` on the log scale for OR and RR.

    Notes
    -----
    Mantel & Haenszel (1959); Cochrane Handbook 10.4.1; formulas as metafor ``rma.mh``.
    OR: R = sum a d/N, S = sum b c/N, OR_MH = R/S, Var(log OR_MH) by Robins, Breslow &
    Greenland (1986): 1/2 [sum P_i R_i / R² + sum (P_i S_i + Q_i R_i)/(R S) +
    sum Q_i S_i / S²], with P_i = (a + d)/N, Q_i = (b + c)/N, R_i = a d/N, S_i = b c/N.
    RR: R = sum a n2/N, S = sum c n1/N, Var(log RR_MH) = sum (n1 n2 (a + c)/N² - a c/N)/(R S)
    (Greenland & Robins 1985). RD: sum (a n2 - c n1)/N / sum n1 n2/N, variance by Sato,
    Greenland & Robins (1989) as metafor. Tables with no events in either group add nothing to
    the OR or RR sums; they are kept (metafor's ``drop00[2] = FALSE``), which matters for RD.
    Heterogeneity: Q = sum w_i (y_i - theta_MH)² with the escalc effect sizes (0.5 added to
    tables with a zero cell, tables with no events or only events in both groups dropped:
    ``drop00[1] = TRUE``), I² = max(0, (Q - df)/Q), H² = Q/df. Weights (percent) are those of
    metafor's ``weights.rma.mh``: S_i (OR), c n1/N (RR), n1 n2/N (RD).
    """
    measure = str(measure).upper()
    if measure not in MH_MEASURES:
        raise InputError(f"Mantel-Haenszel pools OR, RR or RD, not {measure!r}", field="measure")
    a, b, c, d, labels, dropped = _tables(ai, bi, ci, di, n1i, n2i, labels)
    n1, n2 = a + b, c + d
    n = n1 + n2
    notes = []
    with np.errstate(all="ignore"):
        if measure == "OR":
            p_, q_ = (a + d) / n, (b + c) / n
            r_, s_ = a * d / n, b * c / n
            R, S = r_.sum(), s_.sum()
            if R == 0 or S == 0:
                beta = se = math.nan
                notes.append("the Mantel-Haenszel OR is not estimable: every table has no "
                             "events (or no non-events) in one of the groups")
            else:
                beta = math.log(R / S)
                se = math.sqrt(0.5 * ((p_ * r_).sum() / R**2 + (p_ * s_ + q_ * r_).sum() / (R * S)
                                      + (q_ * s_).sum() / S**2))
            wts = s_
        elif measure == "RR":
            R, S = (a * n2 / n).sum(), (c * n1 / n).sum()
            if a.sum() == 0 or c.sum() == 0:
                beta = se = math.nan
                notes.append("the Mantel-Haenszel RR is not estimable: a group has no events "
                             "in any table")
            else:
                beta = math.log(R / S)
                se = math.sqrt(((n1 / n) * (n2 / n) * (a + c) - (a / n) * c).sum() / (R * S))
            wts = c * n1 / n
        else:
            denom = (n1 * n2 / n).sum()
            beta = float((a * (n2 / n) - c * (n1 / n)).sum() / denom)
            se = math.sqrt((beta * (c * (n1 / n) ** 2 - a * (n2 / n) ** 2
                                    + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum()
                            + (a * (n2 - c) / n + c * (n1 - a) / n).sum() / 2) / denom**2)
            wts = n1 * n2 / n
        z, p, lo, hi = _wald(beta, se, level)
    yi, vi, ok = _heterogeneity(measure, a, b, c, d, beta, add, to)
    k_yi, q, q_p, i2, h2 = _q_stats(yi, vi, ok, beta)
    weight = 100 * wts / wts.sum() if wts.sum() > 0 else np.full(a.size, math.nan)
    return TableResult(k=int(a.size), k_yi=k_yi, measure=measure, method="MH",
                       level=float(level), estimate=float(beta), se=float(se), ci_low=float(lo),
                       ci_high=float(hi), z=float(z), p=p, q=q, q_p=q_p, i2=i2, h2=h2,
                       yi=frozen(yi), vi=frozen(vi), weight=frozen(weight), labels=tuple(labels),
                       dropped=dropped, notes=tuple(notes))


def peto(*, ai, ci, bi=None, di=None, n1i=None, n2i=None, labels: Sequence[str] | None = None,
         level: float = 95.0, add: float = 0.5, to: str = "only0") -> TableResult:
    """Peto's one-step odds ratio, as metafor's ``rma.peto``.

    Parameters
    ----------
    ai, bi, ci, di : array-like
        Events and non-events in groups 1 and 2 (or ``n1i``/``n2i`` instead of ``bi``/``di``).
    labels, level, add, to
        As for :func:`mantel_haenszel`; ``add``/``to`` concern only which tables count in the
        heterogeneity degrees of freedom.

    Notes
    -----
    Yusuf, Peto, Lewis, Collins & Sleight (1985); Cochrane Handbook 10.4.4.2. Per table:
    O - E = a - (a + c) n1/N, V = (a + c)(b + d) n1 n2 / (N² (N - 1)). log OR = sum (O - E) /
    sum V, se = 1/sqrt(sum V). Q = sum (O - E)²/V - (sum (O - E))²/sum V over tables with V > 0,
    on k_yi - 1 df where k_yi counts the tables with an escalc Peto effect size (tables with no
    events, or only events, in both groups excluded); I² = max(0, (Q - df)/Q), H² = Q/df, as
    metafor. Weights are V (percent).
    """
    a, b, c, d, labels, dropped = _tables(ai, bi, ci, di, n1i, n2i, labels)
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(all="ignore"):
        e = xt * n1 / n
        var = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
        var = np.where(n > 1, var, 0.0)
    total_v = float(var.sum())
    if total_v == 0:
        raise InputError("Peto's odds ratio is not estimable: no table has events in one group "
                         "and non-events in the other (every variance term is 0)", field="ai")
    beta = float((a - e).sum() / total_v)
    se = 1 / math.sqrt(total_v)
    z, p, lo, hi = _wald(beta, se, level)
    pos = var > 0
    q = max(0.0, float(((a - e)[pos] ** 2 / var[pos]).sum() - (a - e)[pos].sum() ** 2
                       / var[pos].sum()))
    yi, vi, ok = _heterogeneity("PETO", a, b, c, d, beta, add, to)
    k_yi = int(ok.sum())
    if int(pos.sum()) > 1:
        q_p, i2, h2 = float(stats.chi2.sf(q, k_yi - 1)), _i2(q, k_yi), q / (k_yi - 1)
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    return TableResult(k=int(a.size), k_yi=k_yi, measure="OR", method="PETO",
                       level=float(level), estimate=beta, se=se, ci_low=float(lo),
                       ci_high=float(hi), z=float(z), p=p, q=q, q_p=q_p, i2=i2, h2=h2,
                       yi=frozen(yi), vi=frozen(vi), weight=frozen(100 * var / total_v),
                       labels=tuple(labels), dropped=dropped)
