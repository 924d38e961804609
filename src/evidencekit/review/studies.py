"""The evidence library as tables a reviewer scans: studies, risk of bias, what each study reports,
and what it does not."""
from __future__ import annotations

import pandas as pd

__all__ = ["STUDY_COLUMNS", "RESULT_KINDS", "study_table", "risk_of_bias_table",
           "risk_of_bias_domains", "reporting_table", "missing_table"]

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
