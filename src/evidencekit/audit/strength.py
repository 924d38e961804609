"""How strongly a sentence is worded, on the wording ladder: step 4 of judging it
(:func:`wording_strength` -> :class:`Strength`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .cues import Cues, counted_absolutes
from .lexicon import LADDER_NAMES

__all__ = ["Strength", "wording_strength"]


@dataclass(frozen=True)
class Strength:
    """Step 4: the wording's rung (0 very uncertain .. 3 plain, 4 absolute) and why."""

    rung: int
    why: str



def wording_strength(c: Cues) -> Strength:
    """Step 4: how strongly the sentence is worded.

    Notes
    -----
    The ladder of GRADE guideline 26 (Santesso et al. 2020), as in :mod:`evidencekit.grade.claims`: 0
    "very uncertain", 1 "may", 2 "probably", 3 plain; the audit adds 4, an absolute no evidence
    allows. "can", "helps" and "works to" claim an effect (GRADE 26 lists them with the plain
    statements), so they are not hedges. An absolute gives 4; a past-tense report of a named study
    gives 0; else the weakest hedge, else the strongest assertion about the evidence, else 3; an
    intensifier adds one rung.
    """
    if c.reported:
        return Strength(0, "someone else's claim, reported")
    if counted_absolutes(c):
        return Strength(4, "an absolute")
    if c.past_report:
        return Strength(0, "a report of what a study observed")
    if c.about_evidence and not (c.benefit or c.negated_benefit or c.safety or c.mechanism
                                 or c.sessions or c.assertions):
        return Strength(0, "a statement about the evidence")
    if c.hedges:
        rung = min(lvl for lvl, _ in c.hedges)
    elif c.assertions:
        rung = max(lvl for lvl, _ in c.assertions)
    else:
        rung = 3
    if c.intensifiers:
        rung = min(4, rung + 1)
    return Strength(rung, f"'{LADDER_NAMES[rung]}' wording")

