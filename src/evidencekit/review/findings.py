"""GRADE's Summary-of-Findings table per question, and every rating step with its reason."""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..vocab import DOWN_DOMAINS, UP_DOMAINS

__all__ = ["SOF_DOMAINS", "summary_of_findings", "certainty_reasons"]


#: Summary-of-Findings columns for the GRADE domains, in GRADE's order: the five reasons to rate
#: down, then the two to rate up.
SOF_DOMAINS = DOWN_DOMAINS + UP_DOMAINS


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
