"""Agreement of the engine with R metafor: every number of the reference file beside ours.

The reference (``tests/data/metafor-reference.json``, written by ``tests/data/metafor-reference.R``)
holds metafor's effect sizes, fits, leave-one-out, Egger tests and trim-and-fill for each case;
:func:`metafor_agreement` recomputes each with this package and tabulates the differences, and
:func:`agreement_table` sets the largest per analysis against the tolerance that applies to it.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import read_text
from .bias import egger_test, trim_and_fill
from .effects import effect_sizes
from .leave_one_out import leave_one_out
from .pooling import pool
from .tau2 import METHODS

__all__ = ["REL_FLOOR", "ESCALC_ARGUMENTS", "DISPLAY_FLOOR", "CLOSED_FORM_TOLERANCE",
           "ITERATIVE_TOLERANCE", "load_metafor_reference", "metafor_agreement",
           "largest_differences", "magnitude", "tolerance", "agreement_table"]

#: Floor on |metafor's value| when dividing: values that are 0 in metafor (a tau² truncated at 0)
#: would otherwise turn a 1e-17 rounding residue into an infinite relative difference.
REL_FLOOR = 1e-8

# metafor's names (reference JSON) -> our attribute names (PoolResult / pool_many columns).
_RMA_KEYS = {"estimate": "estimate", "se": "se", "ci_low": "ci_low", "ci_high": "ci_high",
             "z": "z", "p": "p", "tau2": "tau2", "I2": "i2", "H2": "h2", "Q": "q", "Q_p": "q_p",
             "pi_low": "pi_low", "pi_high": "pi_high"}
_HKSJ_KEYS = {"se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "t": "z", "df": "df",
              "p": "p", "pi_low": "pi_low", "pi_high": "pi_high"}


def load_metafor_reference(path: str | Path) -> dict[str, Any]:
    """Read the metafor reference file (``tests/data/metafor-reference.json``).

    Read as any input is (:func:`evidencekit.io.read_text`: a regular file, bounded, UTF-8); a file
    that is not JSON is an :class:`~evidencekit.errors.InputError` naming the line.
    """
    text = read_text(path, kind="metafor reference file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg}); regenerate it with tests/data/metafor-reference.R",
                         file=Path(path).as_posix(), line=exc.lineno) from None


def _rows(case: str, analysis: str, quantity: str, ours: Iterable[float],
          theirs: Iterable[float]) -> list[dict[str, Any]]:
    ours_a = np.atleast_1d(np.asarray(ours, dtype=float))
    theirs_a = np.atleast_1d(np.asarray(theirs, dtype=float))
    if ours_a.shape != theirs_a.shape:
        raise ValueError(f"{case} {analysis} {quantity}: shapes {ours_a.shape} and {theirs_a.shape}")
    out = []
    for i, (a, b) in enumerate(zip(ours_a, theirs_a)):
        label = quantity if ours_a.size == 1 else f"{quantity}[{i + 1}]"
        diff = abs(a - b)
        out.append({"case": case, "analysis": analysis, "quantity": label, "ours": a,
                    "metafor": b, "abs_diff": diff, "rel_diff": diff / max(abs(b), REL_FLOOR)})
    return out



def _pooling_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    name, yi, vi, results = case["name"], case["yi"], case["vi"], case["results"]
    rows: list[dict[str, Any]] = []
    for method in METHODS:
        ref = results.get(method)
        if ref is None:
            continue
        fit = pool(yi, vi, method=method, tau2_ci=(method == "REML"))
        for key, attr in _RMA_KEYS.items():
            if key in ref:
                rows += _rows(name, method, key, getattr(fit, attr), ref[key])
        if "hksj" in ref:
            hk = pool(yi, vi, method=method, ci="hksj", tau2_ci=False)
            for key, attr in _HKSJ_KEYS.items():
                rows += _rows(name, f"{method} + HKSJ", key, getattr(hk, attr), ref["hksj"][key])
        if method == "REML" and "REML_tau2_ci_qprofile" in results:
            q = results["REML_tau2_ci_qprofile"]
            rows += _rows(name, "REML tau² Q-profile CI", "tau2_low", fit.tau2_ci_low, q["tau2_low"])
            rows += _rows(name, "REML tau² Q-profile CI", "tau2_high", fit.tau2_ci_high,
                          q["tau2_high"])
    if "REML_leave1out" in results:
        l1 = leave_one_out(yi, vi, method="REML")
        for key, col in (("estimate", "estimate"), ("se", "se"), ("tau2", "tau2"), ("I2", "i2")):
            rows += _rows(name, "REML leave-one-out", key, l1[col], results["REML_leave1out"][key])
    return rows


#: How each reference case's input columns map to escalc's arguments (tests/data/metafor-reference.R).
ESCALC_ARGUMENTS: dict[str, dict[str, str]] = {
    "RR": {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
    "OR": {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
    "MD": {name: name for name in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")},
    "SMD": {name: name for name in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")},
    "SMCR": {"m1i": "m_post", "m2i": "m_pre", "sd1i": "sd_pre", "ni": "ni", "ri": "ri"},
    "SMCC": {"m1i": "m_post", "m2i": "m_pre", "sd1i": "sd_post", "sd2i": "sd_pre", "ni": "ni",
             "ri": "ri"},
}


def _effect_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    name, measure = case["name"], case["measure"]
    args = {arg: case["inputs"][column] for arg, column in ESCALC_ARGUMENTS[measure].items()}
    es = effect_sizes(measure, **args)
    rows = _rows(name, "escalc (effect sizes)", "yi", es.yi, case["yi"])
    rows += _rows(name, "escalc (effect sizes)", "vi", es.vi, case["vi"])
    # end to end: our effect sizes into our REML fit, against metafor's fit on its own
    fit = pool(es, method="REML", tau2_ci=False)
    for key in ("estimate", "se", "tau2"):
        rows += _rows(name, "escalc -> REML", key, getattr(fit, key), case["results"]["REML"][key])
    return rows


def _bias_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    name, yi, vi, results = case["name"], case["yi"], case["vi"], case["results"]
    rows: list[dict[str, Any]] = []
    if "egger_regtest_lm_sei" in results:
        ref = results["egger_regtest_lm_sei"]
        eg = egger_test(yi, vi)
        rows += _rows(name, "Egger test (lm, sei)", "t", eg.statistic, ref["z_or_t"])
        rows += _rows(name, "Egger test (lm, sei)", "p", eg.p, ref["p"])
        rows += _rows(name, "Egger test (lm, sei)", "df", eg.df, ref["df"])
    if "trimfill_FE" in results:
        ref = results["trimfill_FE"]
        tf = trim_and_fill(yi, vi)
        # the side is a label: compared as 1 when it matches metafor's, 0 when it does not
        rows += _rows(name, "trim-and-fill (FE, L0)", "side", float(tf.side == ref["side"]), 1.0)
        for key in ("k0", "estimate", "se"):
            rows += _rows(name, "trim-and-fill (FE, L0)", key, getattr(tf, key), ref[key])
    return rows


def metafor_agreement(reference: str | Path | dict[str, Any],
                      extra: Sequence[Any] = ()) -> pd.DataFrame:
    """Every number in the metafor reference next to ours, with absolute and relative differences.

    Parameters
    ----------
    reference : path or dict
        ``tests/data/metafor-reference.json`` (or its parsed content).
    extra : sequence of callables
        Further comparisons, each ``f(case) -> list of rows`` (as :func:`_rows` builds), for
        engines outside pooling (effect sizes, small-study tests).

    Returns
    -------
    pandas.DataFrame
        One row per compared number: ``case, analysis, quantity, ours, metafor, abs_diff,
        rel_diff``.

    Notes
    -----
    ``rel_diff = |ours - metafor| / max(|metafor|, REL_FLOOR)``. Pooling is compared on metafor's own
    ``yi, vi``, so a difference there is the pooling engine's alone, not carried over from
    effect sizes. The reference's README gives the expected agreement: about 1e-6 relative where
    metafor's iterative estimators stop at their tolerance, 1e-10 for closed forms.
    """
    data = reference if isinstance(reference, dict) else load_metafor_reference(reference)
    rows: list[dict[str, Any]] = []
    for case in data["cases"]:
        rows += _effect_rows(case)
        rows += _pooling_rows(case)
        rows += _bias_rows(case)
        for compare in extra:
            rows += compare(case)
    return pd.DataFrame(rows)


def largest_differences(agreement: pd.DataFrame) -> pd.DataFrame:
    """Per case and analysis, the quantity that differs most from metafor (relative difference).

    Returns a frame indexed by ``(analysis, case)`` with ``quantity, ours, metafor, rel_diff``,
    ordered with the largest relative difference first.
    """
    worst = agreement.loc[agreement.groupby(["analysis", "case"], sort=False)["rel_diff"].idxmax()]
    worst = worst.sort_values("rel_diff", ascending=False, kind="mergesort")
    return worst.set_index(["analysis", "case"])[["quantity", "ours", "metafor", "rel_diff"]]


#: Differences below this are shown as "<= 1e-12": at that level the digits depend on the CPU's
#: summation order (numpy's SIMD paths), and the stored notebook outputs must not.
DISPLAY_FLOOR = 1e-12


def magnitude(x: float, floor: float = DISPLAY_FLOOR) -> str:
    """A difference as its power-of-ten upper bound: 3.2e-9 -> "<= 1e-08", 0 -> "0"."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    bound = max(math.ceil(math.log10(x) - 1e-12), round(math.log10(floor)))
    return f"<= 1e{bound:+03d}"


#: Expected agreement with metafor (tests/data's README): closed forms to 1e-10 relative; where
#: metafor's iterative estimators stop at their own tolerance (REML, ML, PM, EB, root finding),
#: about 1e-6.
CLOSED_FORM_TOLERANCE = 1e-10
ITERATIVE_TOLERANCE = 1e-6
_ITERATIVE = ("REML", "ML", "PM", "EB", "Q-profile", "trim-and-fill")


def tolerance(analysis: str) -> float:
    """The relative tolerance that applies to an analysis label of :func:`metafor_agreement`."""
    return ITERATIVE_TOLERANCE if any(t in analysis for t in _ITERATIVE) else CLOSED_FORM_TOLERANCE


def agreement_table(agreement: pd.DataFrame) -> pd.DataFrame:
    """Largest relative difference per analysis (rows) and case (columns), as :func:`magnitude`.

    Rows keep the order in which the analyses were compared. Then ``all cases`` (the row maximum),
    ``tolerance`` (:func:`tolerance`) and ``within`` (every number in the row within it).
    """
    worst = agreement.groupby(["analysis", "case"], sort=False)["rel_diff"].max().unstack("case")
    worst = worst.reindex(index=agreement["analysis"].unique(), columns=agreement["case"].unique())
    overall = worst.max(axis=1)
    table = worst.map(lambda x: "" if pd.isna(x) else magnitude(x))
    table["all cases"] = overall.map(magnitude)
    limits = pd.Series([tolerance(a) for a in table.index], index=table.index)
    table["tolerance"] = limits.map(lambda x: f"{x:.0e}")
    table["within"] = overall <= limits
    return table

