"""The wording ladder: how strongly a sentence may speak at each certainty level.

Four rungs, one per GRADE certainty level (very low: "the evidence is very uncertain", low: "may",
moderate: "probably", high: plain). Claims are worded on it, and the audit reads an existing page's
sentences on the same scale (:func:`strength_of`), so a claim and a page are judged alike.

Notes
-----
Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to communicate
the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135, Table 2.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .rating import level_index

__all__ = ["WORDING_LADDER", "Rung", "max_strength", "rewording_advice", "strength_of"]


class Rung(NamedTuple):
    """One step of the wording ladder (GRADE guideline 26, Table 2)."""

    strength: int
    certainty: str
    hedge: str
    benefit: str
    no_difference: str
    harm: str
    worse: str
    markers: tuple[str, ...]


#: The ladder, weakest first. ``{I}``/``{i}`` is the intervention (capitalised or not), ``{O}`` the
#: outcome with its time window, ``{v}``/``{vs}`` the verb (base / third person).
#: ``markers`` are the phrases that give a sentence this strength; :func:`strength_of` reads them
#: and the audit uses them to judge existing pages on the same scale.
WORDING_LADDER: tuple[Rung, ...] = (
    # GRADE 26's own very-low statement, word for word, then the same in a short plain sentence
    # ({plain}: "We do not know if it helps."), which keeps the claim at grade 8.
    Rung(0, "very low", "the evidence is very uncertain",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         "The evidence is very uncertain about the effect of {i} on {O}. {plain}",
         ("very uncertain", "not clear", "do not know", "no studies", "no study", "unknown",
          "found no",
          "uncertain", "cannot show")),
    Rung(1, "low", "may",
         "{I} may {v} {O}.",
         "{I} may result in little to no difference in {O}.",
         "{I} may {v} {O}.",
         "{I} may make {O} worse.",
         ("may", "might", "could", "possibly")),
    Rung(2, "moderate", "probably",
         "{I} probably {vs} {O}.",
         "{I} probably results in little to no difference in {O}.",
         "{I} probably {vs} {O}.",
         "{I} probably makes {O} worse.",
         ("probably", "likely")),
    Rung(3, "high", "",
         "{I} {vs} {O}.",
         "{I} results in little to no difference in {O}.",
         "{I} {vs} {O}.",
         "{I} makes {O} worse.",
         ()),
)


def max_strength(certainty: str) -> int:
    """Strongest wording a certainty level allows: 0 very uncertain, 1 may, 2 probably, 3 plain.

    Notes
    -----
    GRADE guideline 26 (Santesso 2020), Table 2: one rung per certainty level.
    """
    return WORDING_LADDER[level_index(certainty)].strength


_HEDGE_PATTERNS = [(rung.strength, re.compile(r"\b(" + "|".join(map(re.escape, rung.markers)) + r")\b",
                                              re.I))
                   for rung in WORDING_LADDER if rung.markers]


def strength_of(sentence: str) -> int:
    """Strength a sentence asserts on the ladder (the weakest hedge found wins; none = 3).

    Used by the tests and the audit: a claim must never read stronger than ``max_strength``.
    """
    for strength, pattern in _HEDGE_PATTERNS:  # weakest first
        if pattern.search(sentence):
            return strength
    return 3


def rewording_advice(strength: int) -> str:
    """How to word a sentence at ``strength`` on the ladder, for advice to a page's author.

    ``'say that the evidence is very uncertain'`` (0), ``'use "may"'`` (1), ``'use "probably"'``
    (2), ``'state it plainly'`` (3): each rung's own hedge, so the advice and the claims cannot
    drift apart.
    """
    rung = WORDING_LADDER[strength]
    if rung.strength == 0:
        return f"say that {rung.hedge}"
    return f'use "{rung.hedge}"' if rung.hedge else "state it plainly"
