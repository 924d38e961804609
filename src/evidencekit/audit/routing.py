"""Whether a sentence is a health claim about the treatment, and which questions it speaks to:
steps 2 and 3 of judging it (:func:`check_claim` -> :class:`ClaimCheck`, :func:`route` ->
:class:`Route`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .cues import Cues, counted_absolutes
from .lexicon import Lexicon
from .topics import Comparator, Topics

__all__ = ["ClaimCheck", "Route", "check_claim", "route"]


@dataclass(frozen=True)
class ClaimCheck:
    """Step 2: whether the sentence is a health claim about the treatment, and why (not)."""

    is_claim: bool
    why: str


@dataclass(frozen=True)
class Route:
    """Step 3: one question (or comparison) the sentence speaks to.

    ``mode``: ``benefit``, ``safety``, ``warning``, ``sessions``, ``mechanism``, ``comparison``,
    ``comparison-denied``. ``specific``: routed by the question's own topic words (a claim that
    names no outcome is routed to the generic question, never specific, and so never contradicted).
    """

    question: str
    mode: str
    specific: bool = True
    comparator: Comparator | None = None



def _finite(cue: str) -> bool:
    """Does the cue start with a verb in the third person ("reduces", "improves"), the form a
    heading uses to claim, unlike a noun ("relief")?"""
    word = re.match(r"[\w'-]+", cue)
    w = word.group(0).lower() if word else ""
    return w.endswith("s") and not w.endswith("ss") and len(w) > 3


def check_claim(c: Cues, lex: Lexicon) -> ClaimCheck:
    """Step 2: is the sentence a health claim about the treatment?

    Not a claim: a question or lead-in heading (``skip_units_ending_with``); no claim cue at all;
    a benefit, safety or absolute about something other than the treatment (no name of it and no
    reference to it: "athletes need effective recovery strategies"); a description of the
    procedure, the clinic or a study's design, unless it also states an absolute, a mechanism, a
    promise ("you can expect relief") or a result (", helping to alleviate pain").
    """
    stripped = c.text.rstrip()
    if not stripped or (lex.skip_endings and stripped.endswith(lex.skip_endings)):
        return ClaimCheck(False, "a question or heading")
    signals = (c.benefit or c.negated_benefit or c.safety or c.denied_safety or c.harms
               or c.mechanism or c.marketing or c.sessions or c.sessions_alone or c.comparisons
               or c.denied_comparisons or c.assertions or c.about_evidence)
    if not signals:
        return ClaimCheck(False, "no claim cue")
    if c.title and not counted_absolutes(c) and not any(_finite(m.group(0)) for m in c.benefit):
        # "## Pain relief in the weeks after treatment" names a topic; "Reduces Pain" claims
        return ClaimCheck(False, "a heading that names a topic")
    # the subject test applies to plain benefit words: marketing, safety and harms are the page's
    # own voice about its treatment ("Book today and start living pain-free!")
    effect = bool(c.benefit or c.negated_benefit) and not (c.marketing or c.safety or c.promised
                                                           or c.harm_minimised)
    if effect and not c.subject and not (c.mechanism or c.sessions or c.assertions):
        return ClaimCheck(False, "not about the treatment")
    warning = bool(c.harm_modal and not c.benefit)
    if c.procedure and not counted_absolutes(c) and not c.mechanism and not c.promised \
            and not c.result_clause and not warning:
        return ClaimCheck(False, "describes the procedure, the clinic or a study's design")
    return ClaimCheck(True, "a health claim")



def route(c: Cues, topics: Topics) -> tuple[Route, ...]:
    """Step 3: the questions and comparisons the sentence speaks to (empty: none).

    Safety wording goes to the safety question, dose wording to the sessions question, mechanism
    phrases to the mechanism question; a benefit goes to the questions whose topic words it uses
    (a question with ``requires`` only when one of those words is present), else to the generic
    question; ``precedence`` lets a specific question replace general ones.
    """
    roles = topics.roles
    # A review without a safety, sessions or mechanism question still gets these claims judged:
    # against a question id of that name that has no claim, so they come out unsupported (or
    # mechanism-as-fact), never unread.
    mech_q = roles.get("mechanism", "mechanism")
    safety_q = roles.get("safety", "safety")
    sessions_q = roles.get("sessions", "sessions")
    special = {mech_q, safety_q, sessions_q}
    benefit_topics = [q for q in c.topics if q not in special]
    sessions = c.sessions
    if not sessions and c.sessions_alone and not ((c.benefit or c.negated_benefit)
                                                   and benefit_topics):
        sessions = c.sessions_alone
    signal = bool(c.benefit or c.negated_benefit or c.safety or c.mechanism or sessions
                  or c.assertions)
    modes: dict[str, Route] = {}
    if mech_q and (c.mechanism or (mech_q in c.topics and signal)):
        modes[mech_q] = Route(mech_q, "mechanism")
    if sessions_q and sessions:
        modes[sessions_q] = Route(sessions_q, "sessions")
    if safety_q:
        # a more specific harms question the sentence names ("serious side effects") takes the
        # safety claim when the topic file says it overrides the safety question
        harms_q = next((q for q in c.topics if safety_q in topics.precedence.get(q, ())), safety_q)
        if c.safety or c.harm_minimised:
            modes[harms_q] = Route(harms_q, "safety")
        elif (c.harms or c.denied_safety) and not c.benefit:
            modes[harms_q] = Route(harms_q, "warning")
    compared = {}
    for comp, _m in c.comparisons:
        compared.setdefault(comp.id, Route(comp.id, "comparison", comparator=comp))
    for comp, _m in c.denied_comparisons:
        compared.setdefault(comp.id, Route(comp.id, "comparison-denied", comparator=comp))
    # a comparison the evidence does not back is the claim; an outcome-less benefit word beside it
    # ("works better than stretching") is not also judged against the generic question
    own_comparison = any(r.mode == "comparison-denied" or r.comparator.finding != "benefit"
                         for r in compared.values())
    if c.benefit or c.negated_benefit:
        benefit_qs = list(benefit_topics)
        generic = roles.get("generic")
        if not benefit_qs and not (set(modes) - {safety_q}) and not own_comparison and generic:
            modes.setdefault(generic, Route(generic, "benefit", specific=False))
        for q in benefit_qs:
            modes.setdefault(q, Route(q, "benefit"))
        for q, dropped in topics.precedence.items():
            if q in modes:
                for d in dropped:
                    if d in modes and modes[d].mode == "benefit":
                        del modes[d]
    for cid, r in compared.items():
        modes.setdefault(cid, r)
    if not modes and c.about_evidence:
        # a statement about the evidence: judged for the questions it names, else the generic one
        qs = benefit_topics or ([roles["generic"]] if roles.get("generic") else [])
        for q in qs:
            modes[q] = Route(q, "benefit", specific=bool(benefit_topics))
    return tuple(modes.values())

