"""Judging one sentence, in typed steps that can each be tested on their own.

1. :func:`read_cues` — what the sentence says, cue by cue (benefit words, hedges, absolutes, ...),
   with negation (ConText-style, :class:`~evidencekit.audit.lexicon.Negation`), purpose clauses and
   proper names already taken into account;
2. :func:`check_claim` — is it a health claim about the treatment at all (subject and scope)?
3. :func:`route` — which question(s) and comparison(s) it speaks to;
4. :func:`wording_strength` — how strongly it is worded, on the ladder of GRADE guideline 26;
5. :func:`verdict_for` / :func:`comparison_verdict` — the verdict, a reason and a suggestion for
   each route; :func:`judge` picks the one shown.

The audit never rates evidence itself: certainty and direction come from the claims
(:func:`evidencekit.make_claims`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .lexicon import LADDER_NAMES, Lexicon, Phrases
from .topics import UNSTUDIED, Comparator, Topics

__all__ = ["Cues", "ClaimCheck", "Route", "Strength", "Verdict", "Judgement", "read_cues",
           "check_claim", "route", "wording_strength", "verdict_for", "comparison_verdict", "judge"]

Hits = Mapping[int, list]
_CLAUSE_BREAK = re.compile(r"[,;:()!?\"]|\.\s")
_WORDS = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class Cues:
    """Step 1: the cues of one sentence, each a tuple of regex matches on the sentence."""

    text: str
    benefit: tuple = ()
    negated_benefit: tuple = ()
    marketing: tuple = ()
    comparisons: tuple = ()          # (Comparator, match)
    denied_comparisons: tuple = ()   # "no more effective than stretching"
    safety: tuple = ()
    denied_safety: tuple = ()        # "no treatment is risk-free": a caveat
    harms: tuple = ()
    harm_minimised: bool = False     # "affects less than 8% of patients": a claim of safety
    mechanism: tuple = ()
    sessions: tuple = ()
    sessions_alone: tuple = ()
    assertions: tuple = ()           # (rung, match)
    hedges: tuple = ()               # (rung, match)
    absolutes: tuple = ()
    absolutes_unhedged: tuple = ()
    intensifiers: tuple = ()
    topics: Mapping[str, tuple] = None  # question id -> matches
    procedure: tuple = ()
    result_clause: bool = False      # ", helping to alleviate pain" after a procedure
    promised: bool = False
    subject: bool = True             # names the treatment, or refers to it ("it", "this treatment")
    past_report: bool = False
    about_evidence: bool = False     # "those results rest on only three small trials"
    reported: bool = False           # someone else's claim: "web pages cite it as proof"
    title: bool = False              # a heading or an emphasised title ("## Pain relief")
    harm_modal: bool = False         # "you may have some soreness": a warning

    @property
    def claims_something(self) -> bool:
        return bool(self.benefit or self.negated_benefit or self.safety or self.mechanism
                    or self.sessions or self.assertions)


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


@dataclass(frozen=True)
class Strength:
    """Step 4: the wording's rung (0 very uncertain .. 3 plain, 4 absolute) and why."""

    rung: int
    why: str


@dataclass(frozen=True)
class Verdict:
    """Step 5: the verdict for one route."""

    verdict: str
    reason: str
    suggestion: str
    evidence: tuple[str, ...]
    allowed: int | None
    question: str


@dataclass(frozen=True)
class Judgement:
    """The sentence's verdict (the first of ``verdict_order`` among its routes) and its support."""

    verdict: str
    reason: str
    suggestion: str
    evidence: tuple[str, ...]
    questions: tuple[str, ...]
    cues: tuple[str, ...]
    strength: int
    allowed: int | None


# ---------------------------------------------------------------------------------------------
# step 1


def _is_past(scan: str, m: re.Match, lex: Lexicon) -> bool:
    """Is this benefit word reported in the past tense ("reduced", "was reduced", "experienced a
    reduction") rather than asserted ("reduces", "is restored")?"""
    before = scan[max(0, m.start() - 40):m.start()]
    prev = re.findall(r"[\w']+", before)[-3:]
    word = re.match(r"[\w']+", m.group(0))
    w = word.group(0).lower() if word else ""
    if prev and prev[-1].lower() in ("is", "are", "be", "being", "will", "to"):
        return False
    if w.endswith("ed"):
        return True
    return any(lex.past_markers.search(p) for p in prev)


def _proper_name(unit: str, m: re.Match) -> bool:
    """A capitalised cue inside a run of capitalised words ("CureWell Physio", "Relief Clinic")
    is part of a name, not a claim; the sentence's first word is not evidence of a name."""
    word = m.group(0)
    if not word[:1].isupper() or not unit[:m.start()].strip():
        return False
    before = _WORDS.findall(unit[max(0, m.start() - 30):m.start()])
    after = _WORDS.findall(unit[m.end():m.end() + 30])
    return bool((before and before[-1][:1].isupper() and unit[:m.start()].rstrip()[-1:].isalnum())
                or (after and after[0][:1].isupper()))


def _in_purpose_clause(unit: str, m: re.Match, purpose: list, harms: list) -> bool:
    """"To understand how it relieves pain, ...", "how the treatment works", "compressed to minimise
    bleeding": the benefit word states an aim or a topic, not an effect."""
    lead = unit.lstrip()
    offset = len(unit) - len(lead)
    if re.match(r"(?:in order |so as )?to\s", lead, re.I):
        comma = unit.find(",", offset)
        if comma < 0 or m.start() < comma:
            return True
    # a purpose marker ("how") up to three words before the cue
    for p in purpose:
        if p.end() <= m.start() and len(_WORDS.findall(unit[p.end():m.start()])) <= 3:
            return True
    # "to minimise bleeding": reducing a harm of the procedure is a step of it, not a benefit
    if re.search(r"\bto\s+$", unit[max(0, m.start() - 5):m.start()], re.I):
        return any(0 <= h.start() - m.end() <= 25 for h in harms)
    return False


def read_cues(unit: str, hits: Hits, study_context: bool, lex: Lexicon, topics: Topics,
              topic_groups: Mapping[str, Phrases], title: bool = False) -> Cues:
    """Step 1: the cues of a sentence, from the phrase index's matches (``hits``).

    Notes
    -----
    Negation follows ConText (Harkema et al. 2009): a trigger up to ``negation_window`` words before
    a cue negates it unless a terminator ("but") comes between; pseudo-triggers ("not only") do not.
    """
    def find(group: Phrases) -> list:
        return hits.get(id(group), [])

    def negated(m: re.Match) -> bool:
        return lex.negation.negates(unit, m.start())

    purpose = find(lex.purpose_markers)
    harms = find(lex.harms)
    benefit, negated_benefit, aims = [], [], []
    for m in find(lex.benefit):
        if _proper_name(unit, m):
            continue
        if _in_purpose_clause(unit, m, purpose, harms):
            aims.append(m)
            continue
        # "made no clinically worthwhile difference": a trigger inside a gapped phrase negates it
        inner = lex.negation.triggers.search(m.group(0)[1:])
        (negated_benefit if negated(m) or inner else benefit).append(m)
    hedges = tuple((lvl, m) for lvl, ph in lex.hedges for m in find(ph))
    if aims and not benefit and any(lvl == 0 for lvl, _ in hedges):
        # "nobody yet knows how it works": a statement about what is not known, judged as one
        benefit = aims
    marketing, denied = [], []
    for m in find(lex.marketing):
        (denied if negated(m) else marketing).append(m)
    if denied:  # "not a miracle cure" denies the superlative; it does not say the treatment fails
        negated_benefit = [b for b in negated_benefit
                           if not any(d.start() <= b.start() < d.end() for d in denied)]
    comparisons, denied_comparisons = [], []
    for c in topics.comparators:
        for m in find(c.phrases):
            if not _CLAUSE_BREAK.search(m.group(0)):
                (denied_comparisons if negated(m) else comparisons).append((c, m))
    if denied_comparisons:  # "no more effective than stretching" is a comparison, judged as one
        negated_benefit = [b for b in negated_benefit if not any(
            m.start() <= b.start() < m.end() for _, m in denied_comparisons)]
    benefit = benefit + marketing + [m for _, m in comparisons]
    safety, denied_safety = [], []
    for m in find(lex.safety_claims):
        (denied_safety if negated(m) else safety).append(m)
    minimisers = find(lex.harm_minimisers)
    harm_minimised = bool(harms and minimisers and not benefit and not negated_benefit
                          and any(abs(h.start() - x.start()) <= 40 for h in harms for x in minimisers))
    assertions, denied_assertions = [], []
    for lvl, ph in lex.assertions:
        for m in find(ph):
            (denied_assertions if negated(m) else assertions).append((lvl, m))
    assertions = tuple(assertions)
    # "No single study proves that it works", "we cannot promise that it is safe for everyone":
    # a denied assertion or a rung-0 hedge qualifies what follows it, absolutes included
    hedges = hedges + tuple((0, m) for _lvl, m in denied_assertions)
    doubt = min((m.start() for lvl, m in hedges if lvl == 0), default=None)

    def before_doubt(ms) -> list:
        return [m for m in ms if doubt is None or m.start() < doubt]
    mechanism = find(lex.mechanism) + find(topics.mechanism)
    # what a study reported: its benefit words, its comparisons, or (with neither) its mechanism
    reported = benefit + negated_benefit + [m for _c, m in denied_comparisons]
    if reported:
        past_report = bool(study_context and not assertions
                           and all(_is_past(unit, m, lex) for m in reported))
    else:  # "Electrical activity at the junctions fell after needling" (in rats)
        past_report = bool(study_context and mechanism and not assertions
                           and lex.past_markers.search(unit))
    promised = bool(benefit and find(lex.promises))
    result_clause = bool(benefit and any(0 <= b.start() - r.end() <= 20 for r in
                                          find(lex.result_connectors) for b in benefit))
    names = find(topics.names)
    # A fragment that opens with its cue ("Reduces pain", "- Better range of motion", a list under
    # "Benefits of ... include:") takes its subject from the page; so does a report of a study.
    first = min((m.start() for m in benefit), default=None)
    # a short unit with no sentence end is a list item or a heading-like fragment ("Short-term
    # relief of muscle pain" under "Benefits include:"), so it too takes its subject from the page
    short = len(_WORDS.findall(unit)) <= 8 and not unit.rstrip().endswith((".", "!", "?"))
    fragment = first is not None and (not re.search(r"\w", unit[:first]) or short)
    opening = " ".join(_WORDS.findall(unit[:40].lower())[:2])
    imperative = any(opening == w or opening.startswith(w + " ") for w in lex.imperatives)
    subject = (not topics.names.phrases) or bool(names or find(lex.subject_references)
                                                 or fragment or study_context or imperative)
    return Cues(
        text=unit, benefit=tuple(benefit), negated_benefit=tuple(negated_benefit),
        marketing=tuple(before_doubt(marketing)), comparisons=tuple(comparisons),
        denied_comparisons=tuple(denied_comparisons), safety=tuple(safety),
        denied_safety=tuple(denied_safety), harms=tuple(harms), harm_minimised=harm_minimised,
        mechanism=tuple(mechanism),
        sessions=tuple(find(lex.sessions)), sessions_alone=tuple(find(lex.sessions_alone)),
        assertions=assertions, hedges=hedges, absolutes=tuple(before_doubt(find(lex.absolutes))),
        absolutes_unhedged=tuple(before_doubt(find(lex.absolutes_unhedged))),
        intensifiers=tuple(find(lex.intensifiers)),
        # a question about one population ("pregnant women") applies only when the sentence names it
        topics={q: tuple(ms) for q, g in topic_groups.items() if (ms := find(g))
                and (q not in topics.requires or find(topics.requires[q]))},
        procedure=tuple(find(lex.procedure) + find(topics.procedure)), result_clause=result_clause, promised=promised,
        subject=subject, past_report=past_report,
        about_evidence=bool(find(lex.evidence_subjects) and find(lex.evidence_findings)),
        harm_modal=bool(harms and find(lex.harm_modals)),
        reported=bool(find(lex.reported_speech)), title=title)


# ---------------------------------------------------------------------------------------------
# step 2


def _absolutes(c: Cues) -> list:
    out = list(c.absolutes) + [m for lvl, m in c.assertions if lvl >= 4]
    if not c.hedges and not c.past_report:
        out += list(c.absolutes_unhedged)
    if not c.past_report:
        out += list(c.marketing)
    return out


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
    if c.title and not _absolutes(c) and not any(_finite(m.group(0)) for m in c.benefit):
        # "## Pain relief in the weeks after treatment" names a topic; "Reduces Pain" claims
        return ClaimCheck(False, "a heading that names a topic")
    # the subject test applies to plain benefit words: marketing, safety and harms are the page's
    # own voice about its treatment ("Book today and start living pain-free!")
    effect = bool(c.benefit or c.negated_benefit) and not (c.marketing or c.safety or c.promised
                                                           or c.harm_minimised)
    if effect and not c.subject and not (c.mechanism or c.sessions or c.assertions):
        return ClaimCheck(False, "not about the treatment")
    warning = bool(c.harm_modal and not c.benefit)
    if c.procedure and not _absolutes(c) and not c.mechanism and not c.promised \
            and not c.result_clause and not warning:
        return ClaimCheck(False, "describes the procedure, the clinic or a study's design")
    return ClaimCheck(True, "a health claim")


# ---------------------------------------------------------------------------------------------
# step 3


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


# ---------------------------------------------------------------------------------------------
# step 4


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
    if _absolutes(c):
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


def _cue_words(c: Cues, routes: tuple[Route, ...], topics: Topics) -> tuple[str, ...]:
    safety_q = topics.roles.get("safety")
    cues = [m.group(0) for m in _absolutes(c)] + [m.group(0) for _, m in c.hedges] + \
        [m.group(0) for _, m in c.assertions] + [m.group(0) for m in c.intensifiers] + \
        [m.group(0) for m in c.mechanism] + [m.group(0) for m in c.sessions] + \
        [m.group(0) for m in c.safety] + [m.group(0) for m in c.benefit] + \
        ([m.group(0) for m in c.harms] if any(r.question == safety_q for r in routes) else [])
    return tuple(dict.fromkeys(" ".join(x.split()) for x in cues))


# ---------------------------------------------------------------------------------------------
# step 5


def _get_claim(claims: Any, qid: str) -> Any | None:
    try:
        return claims.get(qid)
    except KeyError:
        return None


def _evidence(claim: Any) -> tuple[str, ...]:
    if claim is None:
        return ()
    return tuple(dict.fromkeys(tuple(claim.records) + tuple(claim.citations)))


def _quoted(words: list[str]) -> str:
    words = list(dict.fromkeys(" ".join(w.split()) for w in words if w.strip()))[:3]
    return ", ".join(f'"{w}"' for w in words)


def _rewrite_advice(c: Cues, strength: Strength, allowed: int) -> str:
    """Advice in the page's own words: which words to drop or soften."""
    from ..grade.ladder import rewording_advice

    strong = _quoted([m.group(0) for m in _absolutes(c)] + [m.group(0) for m in c.intensifiers])
    target = rewording_advice(allowed)
    if strong:
        return f"Remove {strong} and {target}."
    verbs = _quoted([m.group(0) for m in c.benefit[:2]])
    return f"Soften {verbs}: {target}." if verbs else f"Reword it: {target}."


def verdict_for(r: Route, strength: Strength, c: Cues, claims: Any, topics: Topics) -> Verdict:
    """Step 5: the verdict, reason and suggestion for one question.

    Notes
    -----
    No claim, no evidence or no records -> unsupported (a mechanism -> mechanism-as-fact); rung 0
    -> supported. "contradicted" needs the same outcome and comparison: a benefit claimed for a
    question routed by its own topic words (never the generic fallback) whose evidence found no
    difference or harm, "it does not help" against evidence of benefit, or "safe" against evidence
    of harm. Above ``max_strength(certainty)`` -> overstated (a direction of ``unclear`` allows only
    rung 0); else supported.
    """
    from ..grade.ladder import max_strength

    qid, mode, rung = r.question, r.mode, strength.rung
    claim = _get_claim(claims, qid)
    treatment = topics.treatment
    title = claim.title if claim is not None else topics.titles.get(qid, qid)
    if mode == "warning":
        return Verdict("supported", "A cautious warning about possible harms; warnings are never "
                                    "overclaims.", "Keep the warning.", _evidence(claim), None, qid)
    if claim is None or claim.direction == "no-evidence" or not claim.records:
        text = claim.claim if claim else None
        if mode == "mechanism":
            if rung == 0:
                return Verdict("supported", "The mechanism is presented as uncertain.", text or
                               "Keep it.", (), 0, qid)
            return Verdict("mechanism-as-fact",
                           f"States how {treatment} works as established ({strength.why}); no study "
                           f"in this review tested this explanation.",
                           text or "Present it as an idea that has not been shown in patients: "
                                   "\"It has been suggested that ...; this has not been tested in "
                                   "people.\"", _evidence(claim), 0, qid)
        if rung == 0:
            return Verdict("supported", f"Says the evidence is uncertain ({title}).", text or
                           "Keep it.", _evidence(claim), 0, qid)
        if claim is None and not c.benefit and c.negated_benefit and mode == "benefit":
            return Verdict("supported", "Claims no benefit (for an outcome no study in this review "
                           "looked at), so it overstates nothing.", "Keep it.", (), None, qid)
        if claim is None and mode == "safety":
            why = (f"No study in this review reported the harms of {treatment}; the sentence "
                   f"states that it is harmless with {strength.why}.")
            suggestion = (f"Remove the claim, or say that the studies of {treatment} did not report "
                          "how often side effects happen.")
        elif claim is None and mode == "sessions":
            why = (f"No study in this review compared numbers of sessions of {treatment}; the "
                   f"sentence states a dose with {strength.why}.")
            suggestion = "Remove the number, or say that the best number of sessions is not known."
        elif claim is None:  # outcomes no question covers (the topic file's outcomes_not_studied)
            words = _quoted([m.group(0) for m in c.topics.get(qid, ())])
            what = f"this ({words})" if words else "this"
            why = (f"No study in this review looked at {what}; the sentence states it with "
                   f"{strength.why}.")
            suggestion = (f"Remove the claim, or say that the effect of {treatment} on it has not "
                          "been studied.")
        else:
            why = (f"No study in this review answers '{title}'; the sentence states it with "
                   f"{strength.why}.")
            suggestion = text
        return Verdict("unsupported", why, suggestion, _evidence(claim), None, qid)
    allowed = max_strength(claim.certainty)
    direction = claim.direction
    if direction == "unclear" and not _is_frequency(claim):
        allowed = 0  # claims.py words these "It is not clear whether ...": the bottom rung
    ladder = f"{claim.certainty} certainty allows at most '{LADDER_NAMES[allowed]}' wording"
    ev = _evidence(claim)
    if mode == "mechanism" or claim.kind == "mechanism":
        if rung > allowed:
            return Verdict("mechanism-as-fact", f"A hypothesised mechanism stated with "
                           f"{strength.why}; {ladder} ({title}).", claim.claim, ev, allowed, qid)
        return Verdict("supported", f"Mechanism worded within the evidence ({ladder}).", claim.claim,
                       ev, allowed, qid)
    if mode == "safety":
        if direction == "harm" and rung >= 1:
            return Verdict("contradicted", f"Says it is harmless, but the evidence points to harm "
                           f"({claim.certainty} certainty, {title}).", claim.claim, ev, allowed, qid)
    elif r.specific and direction in ("no-difference", "harm") and c.benefit and rung >= 1:
        found = "no worthwhile difference" if direction == "no-difference" else "harm"
        return Verdict("contradicted", f"Claims a benefit for '{title}', but the evidence found "
                       f"{found} ({claim.certainty} certainty).", claim.claim, ev, allowed, qid)
    elif r.specific and direction == "benefit" and c.negated_benefit and not c.benefit and rung >= 1:
        return Verdict("contradicted", f"Says it does not help, but the evidence points to a "
                       f"benefit ({claim.certainty} certainty, {title}).", claim.claim, ev, allowed,
                       qid)
    if rung > allowed:
        return Verdict("overstated", f"Worded with {strength.why}; {ladder} ({title}).",
                       f"{_rewrite_advice(c, strength, allowed)} The evidence allows: "
                       f"\"{claim.claim}\"", ev, allowed, qid)
    return Verdict("supported", f"Worded within the evidence: {strength.why}; {ladder} ({title}).",
                   claim.claim, ev, allowed, qid)


def comparison_verdict(r: Route, strength: Strength, topics: Topics) -> Verdict:
    """Step 5 for "better than <comparator>": judged against what the topic file says the evidence
    found for that comparator, with the records named so an author can check them."""
    comp = r.comparator
    denied = r.mode == "comparison-denied"
    ev = tuple(dict.fromkeys(comp.evidence + tuple(e.split("#")[0] for e in comp.evidence)))
    records = f" ({', '.join(comp.evidence)})" if comp.evidence else ""
    says = comp.says or "the evidence does not show it"
    keep = comp.suggestion or "Keep it: it matches the evidence."
    treatment = topics.treatment
    rung, why = strength.rung, strength.why

    def v(verdict: str, reason: str, suggestion: str, allowed: int | None = None) -> Verdict:
        return Verdict(verdict, reason, suggestion, ev, allowed, comp.id)

    if denied:
        claim = f"Says {treatment} does no better than {comp.name}"
        if comp.finding in ("no-difference", "comparator-better"):
            return v("supported", f"{claim}, as the evidence found: {says}{records}.", keep)
        if rung == 0:
            return v("supported", f"{claim} ({why}); {says}{records}.", keep, 0)
        if comp.finding == "benefit":
            return v("contradicted", f"{claim} ({why}), but {says}{records}.",
                     comp.suggestion or "Say what the evidence found.")
        return v("unsupported", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or f"Remove the comparison: no study in this review compared "
                                    f"{treatment} with {comp.name}.")
    claim = f"Claims {treatment} does better than {comp.name}"
    if rung == 0:
        return v("supported", f"{claim} ({why}); {says}{records}.", keep, 0)
    if comp.finding in ("no-difference", "comparator-better"):
        return v("contradicted", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or "Remove the comparison.")
    if comp.finding == "no-evidence":
        return v("unsupported", f"{claim} ({why}), but {says}{records}.",
                 comp.suggestion or f"Remove the comparison: no study in this review compared "
                                    f"{treatment} with {comp.name}.")
    return v("supported", f"The comparison with {comp.name} goes the way of the evidence: {says}"
                          f"{records}; the wording is judged by the outcome's question.", keep)


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
    return Judgement(verdict=top.verdict, reason=reason, suggestion=top.suggestion,
                     evidence=top.evidence or all_evidence,
                     questions=tuple(x.question for x in results),
                     cues=_cue_words(c, routes, topics), strength=strength.rung,
                     allowed=top.allowed)


def _is_frequency(claim) -> bool:
    """A claim about how often something happens in one group (a single-group proportion): it has
    no direction, so "unclear" does not mean the claims chose the bottom rung of the ladder."""
    from ..vocab import PROPORTION_MEASURES

    effect = getattr(claim, "effect", None) or {}
    return effect.get("measure") in PROPORTION_MEASURES
