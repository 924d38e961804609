"""Judging one sentence: the typed steps in order, and the one verdict shown.

1. :func:`~.cues.read_cues` — what the sentence says, cue by cue (:mod:`.cues`);
2. :func:`~.routing.check_claim` — is it a health claim about the treatment at all (subject and
   scope)? (:mod:`.routing`);
3. :func:`~.routing.route` — which question(s) and comparison(s) it speaks to (:mod:`.routing`);
4. :func:`~.strength.wording_strength` — how strongly it is worded, on the ladder of GRADE
   guideline 26 (:mod:`.strength`);
5. :func:`~.verdicts.verdict_for` / :func:`~.verdicts.comparison_verdict` — the verdict, a reason
   and a suggestion for each route (:mod:`.verdicts`); :func:`judge` picks the one shown.

Each step is a function on frozen values, tested on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .cues import Cues, counted_absolutes
from .lexicon import Lexicon
from .routing import Route, check_claim, route
from .strength import wording_strength
from .topics import Topics
from .verdicts import Verdict, comparison_verdict, verdict_for

__all__ = ["Judgement", "judge"]


@dataclass(frozen=True)
class Judgement:
    """The sentence's verdict and its support.

    ``shown`` is the route's verdict that comes first in ``verdict_order``, its reason extended by
    the other routes' verdicts and its evidence, when it has none of its own, by theirs.
    ``questions`` lists every route judged (shown first), ``cues`` the phrases that decided, and
    ``strength`` the wording's rung.
    """

    shown: Verdict
    questions: tuple[str, ...]
    cues: tuple[str, ...]
    strength: int

    @property
    def verdict(self) -> str:
        """The verdict shown for the sentence."""
        return self.shown.verdict


def _cue_words(c: Cues, routes: tuple[Route, ...], topics: Topics) -> tuple[str, ...]:
    safety_q = topics.roles.get("safety")
    cues = [m.group(0) for m in counted_absolutes(c)] + [m.group(0) for _, m in c.hedges] + \
        [m.group(0) for _, m in c.assertions] + [m.group(0) for m in c.intensifiers] + \
        [m.group(0) for m in c.mechanism] + [m.group(0) for m in c.sessions] + \
        [m.group(0) for m in c.safety] + [m.group(0) for m in c.benefit] + \
        ([m.group(0) for m in c.harms] if any(r.question == safety_q for r in routes) else [])
    return tuple(dict.fromkeys(" ".join(x.split()) for x in cues))


def judge(c: Cues, claims: Any, lex: Lexicon, topics: Topics) -> Judgement | None:
    """Steps 2-5 on a sentence's cues: the judgement shown, or ``None`` when it is not a claim."""
    if not check_claim(c, lex).is_claim:
        return None
    routes = route(c, topics)
    if not routes:
        return None
    strength = wording_strength(c)
    results = [comparison_verdict(r, strength, topics) if r.comparator is not None
               else verdict_for(r, strength, c, claims, topics) for r in routes]
    rank = {v: i for i, v in enumerate(lex.verdict_order)}
    results.sort(key=lambda x: rank[x.verdict])
    top = results[0]
    reason = top.reason
    others = [f"{topics.titles.get(x.question, x.question)}: {x.verdict}" for x in results[1:]]
    if others:
        reason += f" (also judged: {'; '.join(others)})"
    all_evidence = tuple(dict.fromkeys(e for x in results for e in x.evidence))
    return Judgement(shown=replace(top, reason=reason, evidence=top.evidence or all_evidence),
                     questions=tuple(x.question for x in results),
                     cues=_cue_words(c, routes, topics), strength=strength.rung)

