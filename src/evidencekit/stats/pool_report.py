"""The ``evidencekit pool`` report: one meta-analysis of a CSV, with the analyses its flags add.

From a table whose columns use metafor's argument names, :func:`pool_table` computes the effect
sizes, the pooled fit (inverse variance with a tau² estimator, or Mantel-Haenszel / Peto), and on
request subgroups (``--subgroup``), a meta-regression (``--moderator``) and small-study checks
(``--bias``), and returns the JSON payload of DESIGN.md's ``pool`` contract with a text version.
The CLI reads the CSV and prints; the statistics live in pooling, mh, models and bias.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .effects import effect_sizes_from_frame
from ..errors import InputError

__all__ = ["TABLE_METHODS", "PoolReport", "pool_table"]

#: Methods that pool 2x2 tables directly (``--method MH | PETO``).
TABLE_METHODS = ("MH", "PETO")


@dataclass(frozen=True)
class PoolReport:
    """What ``evidencekit pool`` prints: ``payload`` (JSON) and ``text``, plus the warnings
    raised while computing them (the CLI shows these on stderr)."""

    payload: dict[str, Any]
    text: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return self.payload

    def summary(self) -> str:
        return self.text


def _numbers(frame: pd.DataFrame, column: str, source: str | None) -> np.ndarray:
    """A numeric CSV column (empty cells NaN); a non-number names its line and the fix."""
    from .effects import csv_line

    raw = frame[column]
    series = pd.to_numeric(raw, errors="coerce")
    bad = series.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.nonzero(bad.to_numpy())[0][0])
        raise InputError(f"column {column} holds a non-number {raw.iloc[row]!r}; a moderator "
                         "must be a number (code a category as 0/1, or use --subgroup)",
                         file=source, line=csv_line(frame, row), field=column)
    return series.to_numpy(dtype=float)


def _require(frame: pd.DataFrame, columns: Sequence[str], option: str, source: str | None):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{option} names column(s) {', '.join(missing)}, which the file does "
                         f"not have; it has: {', '.join(map(str, frame.columns))}",
                         file=source, line=1, field=option)


def _table_counts(frame, source):
    """ai, ci and bi/n1i, di/n2i columns for MH and Peto."""
    cols = {}
    for events, cell, total in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        if events not in frame.columns or (cell not in frame.columns
                                           and total not in frame.columns):
            raise InputError("Mantel-Haenszel and Peto pool 2x2 tables: the file needs columns "
                             "ai,bi,ci,di or ai,n1i,ci,n2i (metafor's names); it has: "
                             + ", ".join(map(str, frame.columns)), file=source, line=1,
                             field=events)
        cols[events] = _numbers(frame, events, source)
        if cell in frame.columns:
            cols[cell] = _numbers(frame, cell, source)
        else:
            cols[total] = _numbers(frame, total, source)
    return cols


def pool_table(frame: pd.DataFrame, measure: str, *, method: str = "REML", ci: str = "wald",
               subgroup: str | None = None, moderators: Sequence[str] = (),
               bias: bool = False, label_column: str | None = None,
               source: str | None = None) -> PoolReport:
    """The ``pool`` report for one table (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        One study per row, columns in metafor's names (:data:`evidencekit.stats.effects.COLUMNS`).
    measure, method, ci
        As ``--measure``, ``--method`` (a tau² estimator, FE, or MH / PETO) and ``--ci``.
    subgroup : str, optional
        Column whose values define subgroups: adds ``subgroups``, ``q_between``,
        ``q_between_p`` (:func:`evidencekit.stats.models.subgroup_analysis`).
    moderators : sequence of str
        Numeric columns for a meta-regression: adds ``coefficients`` (intercept first), ``qm``,
        ``qm_p``, ``r2`` (:func:`evidencekit.stats.models.meta_regression`).
    bias : bool
        Adds ``egger: {z, p, model}`` (metafor's default ``regtest``) and ``trim_and_fill: {k0,
        side, estimate, se}`` on the fitted model (:mod:`evidencekit.stats.bias`).
    label_column, source
        The study label column and the file name for messages.
    """
    from .bias import egger_test, trim_and_fill
    from .models import REGRESSION_METHODS, meta_regression, subgroup_analysis
    from .pooling import pool

    method = method.upper()
    measure = measure.upper()
    labels = (frame[label_column].astype(str).tolist() if label_column else None)
    caught: list[str] = []
    text: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if method in TABLE_METHODS:
            if ci != "wald":
                raise InputError("--ci hksj applies to the inverse-variance random-effects "
                                 "model; Mantel-Haenszel and Peto use Wald intervals (drop "
                                 "--ci, or use --method REML)", field="--ci")
            if subgroup or moderators or bias:
                raise InputError("--subgroup, --moderator and --bias use the inverse-variance "
                                 "model; combine them with --method REML (or another tau² "
                                 "estimator, or FE), not with MH or PETO", field="--method")
            payload, summary = _table_fit(frame, measure, method, labels, source)
            text.append(summary)
        else:
            es = effect_sizes_from_frame(frame, measure, label_column=label_column,
                                         source=source)
            result = _located(lambda: pool(es, method=method, ci=ci), source)
            payload = result.to_dict()
            text += [f"assumption: {a}" for a in es.assumptions] + [result.summary()]
            yi, vi = np.asarray(es.yi), np.asarray(es.vi)
            if subgroup:
                _require(frame, [subgroup], "--subgroup", source)
                groups = [None if str(g).strip() == "" else str(g).strip()
                          for g in frame[subgroup].tolist()]
                missing = np.isnan(yi) | np.isnan(vi)
                sub = _located(lambda: subgroup_analysis(
                    yi[~missing], vi[~missing], [g for g, m in zip(groups, missing) if not m],
                    method=method, ci=ci, measure=measure,
                    labels=None if labels is None else [s for s, m in zip(labels, missing)
                                                        if not m]), source)
                payload.update(sub.to_dict())
                text.append(sub.summary())
            if moderators:
                _require(frame, moderators, "--moderator", source)
                if method not in REGRESSION_METHODS:
                    raise InputError(f"--moderator fits a meta-regression, which supports "
                                     f"--method {', '.join(REGRESSION_METHODS)}, not {method}",
                                     field="--method")
                mods = {m: _numbers(frame, m, source) for m in moderators}
                reg = _located(lambda: meta_regression(yi, vi, mods, method=method, ci=ci,
                                                       labels=labels), source)
                payload.update(reg.to_dict())
                text.append(reg.summary())
            if bias:
                keep = ~(np.isnan(yi) | np.isnan(vi))
                payload.update(_bias(yi[keep], vi[keep], method, ci, source, text,
                                     egger_test, trim_and_fill))
        caught = [str(w.message) for w in record]
    return PoolReport(payload=payload, text="\n".join(text), warnings=tuple(caught))


def _located(fn, source):
    """Run ``fn``; an InputError without a file gets this CSV's name."""
    try:
        return fn()
    except InputError as exc:
        if exc.file is not None or source is None:
            raise
        raise InputError(exc.message, file=source, field=exc.field) from None


def _table_fit(frame, measure, method, labels, source):
    from .mh import MH_MEASURES, mantel_haenszel, peto

    if method == "MH" and measure not in MH_MEASURES:
        raise InputError(f"--method MH pools OR, RR or RD, not {measure}", field="--measure")
    if method == "PETO" and measure != "OR":
        raise InputError(f"--method PETO gives an odds ratio: use --measure OR (not {measure})",
                         field="--measure")
    counts = _table_counts(frame, source)
    if method == "MH":
        res = _located(lambda: mantel_haenszel(measure, labels=labels, **counts), source)
    else:
        res = _located(lambda: peto(labels=labels, **counts), source)
    if not math.isfinite(res.estimate):
        raise InputError(f"the {'Mantel-Haenszel' if method == 'MH' else 'Peto'} estimate is "
                         "not estimable from these tables: " + "; ".join(res.notes),
                         file=source, field="ai")
    return res.to_dict(), res.summary()


def _bias(yi, vi, method, ci, source, text, egger_test, trim_and_fill):
    k = yi.size
    if k < 3:
        raise InputError(f"--bias needs at least 3 studies (k = {k}): Egger's test and "
                         "trim-and-fill cannot be computed from fewer", file=source,
                         field="--bias")
    eg = _located(lambda: egger_test(yi, vi, model="rma", method=method, ci=ci), source)
    tf = _located(lambda: trim_and_fill(yi, vi, method=method), source)
    text.append(f"Egger's test ({eg.model_description}): "
                f"{'t' if eg.df else 'z'} = {eg.statistic:.4f}, p = {eg.p:.4f}")
    text.append(tf.summary())
    return {"egger": {"z": eg.statistic, "p": eg.p, "model": eg.model_description,
                      "df": eg.df, "limit_estimate": eg.limit_estimate},
            "trim_and_fill": tf.to_dict()}

