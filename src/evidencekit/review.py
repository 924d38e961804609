"""Tables and studies behind the review notebooks (notebooks/NN-*.py).

The notebooks stay thin (DESIGN.md: a cell past ~15 lines of logic belongs in ``src/``); what they
need beyond the public API lives here: the agreement of the engine with R metafor, and a coverage
simulation of Wald and HKSJ intervals run with :func:`evidencekit.pool_many`.
Nothing here is used by the pipeline (library -> ... -> render); it sits beside the CLI, at the top.
"""
from __future__ import annotations

import re

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .stats.bias import egger_test, trim_and_fill
from .stats.conversions import se_from_ci
from .stats.effects import RATIO_MEASURES, effect_sizes
from .stats.batch import pool_many
from .stats.leave_one_out import leave_one_out
from .stats.pooling import pool

__all__ = [
    "show",
    "REL_FLOOR",
    "load_metafor_reference",
    "metafor_agreement",
    "largest_differences",
    "agreement_table",
    "tolerance",
    "magnitude",
    "study_table",
    "risk_of_bias_table",
    "risk_of_bias_domains",
    "reporting_table",
    "missing_table",
    "reported_effects",
    "arm_summary_effects",
    "question_effects",
    "direction_summary",
    "plot_question_effects",
    "summary_of_findings",
    "certainty_reasons",
    "simulate_coverage",
    "coverage_study",
    "plot_coverage",
]

#: PNG options for figures shown in notebooks: a fixed resolution and no "Software" chunk (which
#: names the matplotlib version), so a figure's bytes depend only on what it draws.
PNG_OPTIONS = {"format": "png", "dpi": 100, "metadata": {"Software": None}, "bbox_inches": "tight"}


def show(fig):
    """Display a bare matplotlib Figure in a notebook, as a PNG image.

    evidencekit's plots return bare Figures (no pyplot state). Recent matplotlib loads the inline
    backend lazily, so Jupyter has no display formatter for such a Figure until pyplot draws
    something; this turns the Figure into an ``IPython.display.Image`` explicitly. ``None``
    (nothing to draw) gives ``None``.
    """
    if fig is None:
        return None
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, **PNG_OPTIONS)
    return Image(data=buffer.getvalue(), format="png")


# ---------------------------------------------------------------------------------------------
# notebook 01: the evidence library

#: Columns of the studies table a clinician scans first (Library.studies_frame has more).
STUDY_COLUMNS = ("citation", "design", "randomised", "n", "population", "follow_up", "outcomes",
                 "results", "risk_of_bias")
#: Kinds of result, from most to least usable for pooling.
RESULT_KINDS = ("arm-summary", "effect-estimate", "p-value", "narrative")


def study_table(library) -> pd.DataFrame:
    """One row per study: citation, design, n, population, follow-up, counts, overall risk of bias."""
    frame = library.studies_frame()
    return frame[list(STUDY_COLUMNS)]


def risk_of_bias_table(library, with_domains: bool = False) -> pd.DataFrame:
    """Risk-of-bias judgements: one row per study, one column per domain, then overall and tool.

    Domains are taken in the order studies list them; a study assessed with another tool (or not at
    all, like a case report) has empty cells for domains it does not have. ``with_domains`` keeps
    only studies judged domain by domain.
    """
    rows, domains = [], []
    for key, study in library.studies.items():
        rob = study.risk_of_bias
        if with_domains and not rob.domains:
            continue
        row = {d.name: d.judgement for d in rob.domains}
        domains += [name for name in row if name not in domains]
        row.update(overall=rob.overall, tool=rob.tool)
        rows.append({"study": key, **row})
    frame = pd.DataFrame(rows, columns=["study", *domains, "overall", "tool"])
    return frame.set_index("study").fillna("")


def risk_of_bias_domains(library) -> pd.DataFrame:
    """Every domain judgement with its reason, one row per (study, domain); then the overall one.

    Studies without domain judgements (narrative reviews, case reports) appear with their overall
    judgement only, so the table names every study.
    """
    rows = []
    for key, study in library.studies.items():
        rob = study.risk_of_bias
        for d in rob.domains:
            rows.append({"study": key, "tool": rob.tool, "domain": d.name,
                         "judgement": d.judgement, "reason": d.reason})
        rows.append({"study": key, "tool": rob.tool, "domain": "overall",
                     "judgement": rob.overall, "reason": rob.reason})
    return pd.DataFrame(rows, columns=["study", "tool", "domain", "judgement", "reason"]
                        ).set_index(["study", "domain"])


def reporting_table(library) -> pd.DataFrame:
    """What each study reports, in the forms the analysis can use.

    Columns: results by kind (arm means/SDs, effect estimates, p-values only, narrative only),
    ``numbers`` (of those, results that give an effect size: arm summaries with SDs, or estimates
    with a CI or SE), ``inferred`` (results resting on the reviewers' inference), ``secondary``
    (seen only in a secondary source), and whether n, funding and conflicts are reported.
    An arm summary counts as a number only when every arm has its SD and n.
    """
    results = library.results_frame()
    counts = pd.crosstab(results["study"], results["kind"]).reindex(
        index=list(library.studies), columns=list(RESULT_KINDS), fill_value=0)
    arms = library.arm_summaries_frame()
    complete = (arms["sd"].notna() & arms["n"].notna()).groupby(
        [arms["study"], arms["result"]]).all()
    with_sd = pd.Series([complete.get((s, r), False) for s, r in
                         zip(results["study"], results["result"])], index=results.index, dtype=bool)
    usable = (results["kind"].eq("arm-summary") & with_sd) | (
        results["kind"].eq("effect-estimate")
        & (results["ci_low"].notna() | results["se"].notna()))
    counts["numbers"] = usable.groupby(results["study"]).sum().reindex(counts.index, fill_value=0)
    for col in ("inferred", "secondary"):
        counts[col] = results.groupby("study")[col].sum().reindex(counts.index, fill_value=0)
    studies = library.studies_frame()
    for col in ("n", "funding", "conflicts"):
        counts[f"{col} reported"] = studies[col].notna().reindex(counts.index)
    counts.columns.name = None
    counts.index.name = "study"
    return counts.astype({c: int for c in (*RESULT_KINDS, "numbers", "inferred", "secondary")})


def missing_table(library) -> pd.DataFrame:
    """Everything recorded as not reported, one row per item: study, item, where it was looked for."""
    rows = [{"study": key, "item": gap.item, "note": gap.note}
            for key, study in library.studies.items() for gap in study.not_reported]
    return pd.DataFrame(rows, columns=["study", "item", "note"])


# ---------------------------------------------------------------------------------------------
# notebook 02: effect sizes

_EFFECT_COLUMNS = ["study", "result", "outcome", "time_point", "contrast", "comparison",
                   "measure", "estimate", "ci_low", "ci_high", "se", "k_studies", "ci_asymmetry",
                   "secondary", "inferred"]


def reported_effects(library, contrast: str | None = None) -> pd.DataFrame:
    """Every reported effect estimate with its CI, and the SE that CI implies.

    ``contrast`` filters (e.g. ``"review-pooled"`` for the reviews' pooled results, or
    ``"between-groups"`` for a trial's own comparison). ``se`` is as reported, else derived from
    the 95% CI by :func:`evidencekit.stats.conversions.se_from_ci` (Cochrane Handbook 6.3.1; on the log
    scale for ratio measures). ``ci_asymmetry`` is where the estimate sits from the CI's midpoint,
    as a share of its width: above ~5% the printed numbers do not fit together (kept as printed).
    """
    frame = library.results_frame()
    frame = frame[frame["kind"].eq("effect-estimate")]
    if contrast is not None:
        frame = frame[frame["contrast"].eq(contrast)]
    frame = frame[_EFFECT_COLUMNS].reset_index(drop=True)
    derived = []
    for row in frame.itertuples():
        if pd.notna(row.se) or pd.isna(row.ci_low) or pd.isna(row.ci_high):
            derived.append(row.se)
            continue
        ratio = row.measure in RATIO_MEASURES
        derived.append(float(se_from_ci(row.ci_low, row.ci_high, ratio=ratio)))
    frame["se"] = pd.Series(derived, index=frame.index, dtype="float64")
    return frame.set_index(["study", "result"])


def arm_summary_effects(library, measure: str = "MD") -> pd.DataFrame:
    """Effect sizes from group means and SDs (intervention vs comparator), where n is reported.

    One row per two-arm summary. ``yi``/``ci_low``/``ci_high`` are :func:`effect_sizes` (metafor's
    escalc) with a 95% Wald CI; where an arm's n or SD is missing the row says so in ``note`` and
    no effect size is computed: nothing is imputed here.
    """
    arms = library.arm_summaries_frame()
    rows = []
    for (study, result), part in arms.groupby(["study", "result"], sort=False):
        treat = part[part["role"].eq("intervention")]
        comp = part[part["role"].isin(["comparator", "control-side"])]
        row = {"study": study, "result": result, "outcome": part["outcome"].iloc[0],
               "time_point": part["time_point"].iloc[0], "measure": measure,
               "mean_dn": treat["mean"].iloc[0] if len(treat) else None,
               "mean_comparator": comp["mean"].iloc[0] if len(comp) else None,
               "yi": None, "ci_low": None, "ci_high": None, "note": None}
        missing = [c for c in ("sd", "n") if len(treat) != 1 or len(comp) != 1
                   or pd.isna(treat[c].iloc[0]) or pd.isna(comp[c].iloc[0])]
        if missing:
            row["note"] = f"{' and '.join(missing)} per arm not reported: not computed"
        else:
            es = effect_sizes(measure, m1i=[treat["mean"].iloc[0]], sd1i=[treat["sd"].iloc[0]],
                              n1i=[int(treat["n"].iloc[0])], m2i=[comp["mean"].iloc[0]],
                              sd2i=[comp["sd"].iloc[0]], n2i=[int(comp["n"].iloc[0])])
            half = 1.959963984540054 * math.sqrt(es.vi[0])
            row.update(yi=es.yi[0], ci_low=es.yi[0] - half, ci_high=es.yi[0] + half)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["study", "result", "outcome", "time_point", "measure",
                                        "mean_dn", "mean_comparator", "yi", "ci_low", "ci_high",
                                        "note"])
    for col in ("mean_dn", "mean_comparator", "yi", "ci_low", "ci_high"):
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    return frame.set_index(["study", "result"])


def question_effects(rating) -> pd.DataFrame:
    """The estimates in one question's body of evidence (items with an effect and a CI).

    ``main`` marks the estimate(s) the claim rests on; the others were checked for consistency
    (review results are not pooled with each other: their trials overlap).
    """
    main = set(rating.main.records) if rating.main is not None else set()
    rows = [{"record": i.record, "design": i.design, "measure": i.measure, "estimate": i.estimate,
             "ci_low": i.ci_low, "ci_high": i.ci_high, "time_point": i.time_point,
             "direction": i.direction, "main": i.record in main}
            for i in rating.items if i.role == "estimate"]
    frame = pd.DataFrame(rows, columns=["record", "design", "measure", "estimate", "ci_low",
                                        "ci_high", "time_point", "direction", "main"])
    return frame.set_index("record")


_KEY_RE = re.compile(r"^([a-z][a-z-]*?)(\d{4})([a-z]?)$")


def study_label(record: str, library=None) -> str:
    """A label a person reads: "Sterling et al. 2015, 12 months" for ``sterling2015#ndi-md-12mo``.

    With a library, the author and year come from the study's BibTeX entry and the time point
    from its result; without one, from the citation key's usual ``<surname><year>`` shape.
    """
    study_id, _, result_id = str(record).partition("#")
    who = None
    when = None
    if library is not None:
        ref = getattr(library, "references", {}).get(study_id)
        if ref is not None and hasattr(ref, "short_citation"):
            who = ref.short_citation()
        study = getattr(library, "studies", {}).get(study_id)
        if study is not None and result_id:
            try:
                when = study.result(result_id).time_point
            except KeyError:
                when = None
    if who is None:
        match = _KEY_RE.match(study_id)
        who = (f"{match.group(1).replace('-', ' ').title()} {match.group(2)}{match.group(3)}"
               if match else study_id)
    return f"{who}, {when}" if when else who


def plot_question_effects(rating, library=None, intervention: str | None = None):
    """Forest-style plot of a question's reported estimates, not pooled (see
    :func:`evidencekit.outputs.figures.reported_effects_plot`); the estimate the claim rests on is blue.

    Rows are labelled by author and year (:func:`study_label`); pass the library for the
    names and time points as the references and records give them.

    Returns a bare matplotlib Figure (no pyplot state), or None when there is no estimate.
    """
    from .outputs.figures import reported_effects_plot

    frame = question_effects(rating)
    rows = [{"label": study_label(record, library), "estimate": row.estimate,
             "ci_low": row.ci_low, "ci_high": row.ci_high, "measure": row.measure,
             "highlight": bool(row.main)}
            for record, row in frame.iterrows()]
    title = getattr(rating, "title", None) or rating.question
    return reported_effects_plot(rows, title=f"{title}: reported estimates",
                                 subtitle="blue: the estimate the claim rests on; not pooled",
                                 intervention=intervention)


def direction_summary(ratings: Mapping[str, Any]) -> pd.DataFrame:
    """Direction-of-effect vote counts per question (SWiM; one vote per study), with a sign test.

    ``sign_test_p`` is the two-sided binomial test of benefit against harm votes (studies with no
    clear or a mixed direction do not vote; McKenzie & Brennan, Cochrane Handbook 12.2.2.5).
    """
    from scipy import stats

    rows = []
    for qid, r in ratings.items():
        votes = {key: int((r.votes or {}).get(key, 0)) for key in ("benefit", "harm", "none",
                                                                    "mixed")}
        decided = votes["benefit"] + votes["harm"]
        p = stats.binomtest(votes["benefit"], decided).pvalue if decided else math.nan
        rows.append({"question": qid, **votes, "sign_test_p": p, "synthesis": r.synthesis,
                     "direction": r.direction})
    return pd.DataFrame(rows).set_index("question")


# ---------------------------------------------------------------------------------------------
# notebook 03: certainty and claims

#: Summary-of-Findings columns for the GRADE domains, in GRADE's order (certainty.DOMAINS).
SOF_DOMAINS = ("risk-of-bias", "inconsistency", "indirectness", "imprecision", "publication-bias",
               "large-effect", "dose-response")


def _effect_text(rating) -> str:
    main = rating.main
    if main is not None:
        ci = "" if main.ci_low is None else f" ({main.ci_low:g} to {main.ci_high:g})"
        return f"{main.measure} {main.estimate:g}{ci}"
    votes = dict(rating.votes or {})
    if votes:
        total = sum(votes.values())
        # The rating knows no intervention name: "the intervention" keeps this table topic-free.
        return f"{votes.get('benefit', 0)} of {total} studies favour the intervention"
    return "no comparison reported"


def summary_of_findings(ratings: Mapping[str, Any]) -> pd.DataFrame:
    """A GRADE Summary-of-Findings table: one row per question.

    Columns: title, studies and participants in the body of evidence, synthesis, effect (the main
    estimate with its CI, or the direction-of-effect vote count), the change from each GRADE domain
    (0 = considered, not rated down; -1 serious; -2 very serious; +1 upgrade), start and final
    certainty, direction. The reasons are in :func:`certainty_reasons`.
    """
    rows = []
    for qid, r in ratings.items():
        changes = {d: 0 for d in SOF_DOMAINS}
        for step in r.steps:
            if step.domain in changes:
                changes[step.domain] += step.change
        rows.append({"question": qid, "title": r.title,
                     "studies": len({i.study for i in r.used_items()}),
                     "participants": r.total_n(), "synthesis": r.synthesis,
                     "effect": _effect_text(r), **changes, "start": r.start,
                     "certainty": r.level, "direction": r.direction})
    frame = pd.DataFrame(rows).set_index("question")
    frame["participants"] = frame["participants"].astype("Int64")
    return frame


def certainty_reasons(ratings: Mapping[str, Any]) -> pd.DataFrame:
    """Every step of every rating with its reason, indexed by (question, domain)."""
    frames = [r.to_frame() for r in ratings.values()]
    frame = pd.concat(frames, ignore_index=True)
    return frame.set_index(["question", "domain"])[["change", "reason", "override"]]


# ---------------------------------------------------------------------------------------------
# notebook 05: agreement with metafor

#: Floor on |metafor's value| when dividing: values that are 0 in metafor (a tau² truncated at 0)
#: would otherwise turn a 1e-17 rounding residue into an infinite relative difference.
REL_FLOOR = 1e-8

# metafor's names (reference JSON) -> our attribute names (PoolResult / pool_many columns).
_RMA_KEYS = {"estimate": "estimate", "se": "se", "ci_low": "ci_low", "ci_high": "ci_high",
             "z": "z", "p": "p", "tau2": "tau2", "I2": "i2", "H2": "h2", "Q": "q", "Q_p": "q_p",
             "pi_low": "pi_low", "pi_high": "pi_high"}
_HKSJ_KEYS = {"se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "t": "z", "df": "df",
              "p": "p", "pi_low": "pi_low", "pi_high": "pi_high"}
_RMA_METHODS = ("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")


def load_metafor_reference(path: str | Path) -> dict[str, Any]:
    """Read the metafor reference file (``tests/data/metafor-reference.json``)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


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
    for method in _RMA_METHODS:
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


def simulate_coverage(k: int, tau2: float, reps: int = 10_000, seed: int = 1, *,
                      method: str = "REML", mu: float = 0.0,
                      n_range: tuple[int, int] = (20, 200), level: float = 95.0) -> pd.DataFrame:
    """Coverage of the Wald and HKSJ intervals for the pooled mean, by simulation.

    Each replicate is a meta-analysis of ``k`` two-arm trials of a standardised mean difference:
    total sample sizes n_i uniform on ``n_range`` (so studies differ in precision, as in real
    reviews), sampling variances v_i = 4 / n_i (the large-sample variance of an SMD near 0), and
    effects y_i ~ N(mu, v_i + tau2). Every replicate is fitted twice with :func:`pool_many`
    (``ci="wald"`` and ``ci="hksj"``) using the same tau² estimator.

    Parameters
    ----------
    k : int
        Studies per meta-analysis.
    tau2 : float
        True between-study variance.
    reps : int
        Number of simulated meta-analyses.
    seed : int
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same table.
    method : str
        tau² estimator (default REML, as :func:`evidencekit.pool`).
    mu : float
        True mean effect.
    n_range : (int, int)
        Inclusive range of total sample sizes.
    level : float
        Nominal confidence level in percent.

    Returns
    -------
    pandas.DataFrame
        Two rows (``ci`` = "Wald", "HKSJ") with ``k, tau2, method, reps, coverage`` (percent),
        ``mc_se`` (Monte Carlo standard error of the coverage, percent), ``mean_width``,
        ``median_tau2`` (estimated).

    Notes
    -----
    The Wald interval treats the estimated tau² as known and uses the normal quantile; with few
    studies it is too narrow (IntHout, Ioannidis & Borm 2014, BMC Med Res Methodol 14:25). HKSJ
    (Hartung & Knapp 2001; Sidik & Jonkman 2002) rescales the variance and uses t with k - 1 df,
    which keeps coverage near nominal; hence its use in current guidance (Cochrane Handbook
    10.10.4.2, RevMan 2025). Monte Carlo SE = sqrt(c (1 - c) / reps).
    """
    if k < 2:
        raise ValueError("HKSJ needs k >= 2")
    rng = np.random.default_rng(seed)
    n = rng.integers(n_range[0], n_range[1] + 1, size=(reps, k))
    vi = 4.0 / n
    yi = rng.normal(mu, np.sqrt(vi + tau2))
    rows = []
    for ci, label in (("wald", "Wald"), ("hksj", "HKSJ")):
        fit = pool_many(yi, vi, method=method, ci=ci, level=level)
        covered = ((fit["ci_low"] <= mu) & (fit["ci_high"] >= mu)).to_numpy()
        c = covered.mean()
        rows.append({"k": k, "tau2": tau2, "method": method, "ci": label, "reps": reps,
                     "coverage": 100 * c, "mc_se": 100 * math.sqrt(c * (1 - c) / reps),
                     "mean_width": float((fit["ci_high"] - fit["ci_low"]).mean()),
                     "median_tau2": float(fit["tau2"].median())})
    return pd.DataFrame(rows)


def coverage_study(ks: Sequence[int] = (3, 5, 10), tau2s: Sequence[float] = (0.05, 0.2),
                   reps: int = 10_000, seed: int = 1, method: str = "REML") -> pd.DataFrame:
    """:func:`simulate_coverage` over a grid of k and tau²; one seed per cell, derived from ``seed``.

    Cell seeds are ``seed * 1000 + 10 * i + j`` for the i-th k and j-th tau², so a cell's numbers do
    not change when the grid around it grows.
    """
    frames = [simulate_coverage(k, t2, reps, seed * 1000 + 10 * i + j, method=method)
              for i, k in enumerate(ks) for j, t2 in enumerate(tau2s)]
    return pd.concat(frames, ignore_index=True)


def plot_coverage(study: pd.DataFrame, level: float = 95.0, ax=None):
    """Coverage against k, one line per interval and tau², with the nominal level marked.

    Returns a bare matplotlib Figure (no pyplot state), as :mod:`evidencekit.outputs.figures` does.
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    styles = {"Wald": dict(marker="o", linestyle="--"), "HKSJ": dict(marker="s", linestyle="-")}
    for (ci, tau2), part in study.groupby(["ci", "tau2"], sort=False):
        part = part.sort_values("k")
        ax.errorbar(part["k"], part["coverage"], yerr=1.96 * part["mc_se"], capsize=3,
                    label=f"{ci}, tau² = {tau2:g}", **styles.get(ci, {}))
    ax.axhline(level, color="0.4", linewidth=1)
    ax.set_xticks(sorted(study["k"].unique()))
    ax.set_xlabel("studies per meta-analysis (k)")
    ax.set_ylabel(f"coverage of the {level:g}% CI (%)")
    ax.set_title(f"Coverage of the pooled-mean interval ({study['method'].iloc[0]} tau²)")
    ax.legend(frameon=False)
    return fig
