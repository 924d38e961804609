"""The effect estimates behind the review: as reported (with the SE their CI implies), computed
from group means and SDs, per question, and the direction-of-effect vote count."""
from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from ..stats.distributions import critical_value
from ..stats.conversions import se_from_ci
from ..stats.effects import effect_sizes
from ..vocab import RATIO_MEASURES

__all__ = ["reported_effects", "arm_summary_effects", "question_effects", "direction_summary"]


_EFFECT_COLUMNS = ["study", "result", "outcome", "time_point", "contrast", "comparison",
                   "measure", "estimate", "ci_low", "ci_high", "se", "k_studies", "ci_asymmetry",
                   "secondary", "inferred"]


def reported_effects(library, contrast: str | None = None) -> pd.DataFrame:
    """Every reported effect estimate with its CI, and the SE that CI implies.

    ``contrast`` filters (e.g. ``"review-pooled"`` for the reviews' pooled results, or
    ``"between-groups"`` for a trial's own comparison). ``se`` is as reported, else derived from
    the 95% CI by :func:`evidencekit.stats.effects.se_from_ci` (Cochrane Handbook 6.3.1; on the log
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
            half = float(critical_value(95.0)) * math.sqrt(es.vi[0])
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
