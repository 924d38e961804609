"""What one sentence says, cue by cue: step 1 of judging it (:func:`read_cues` -> :class:`Cues`).

The phrase index's matches become typed cues (benefit words, hedges, absolutes, comparisons, ...),
with negation (ConText-style, :class:`~evidencekit.audit.lexicon.Negation`), purpose clauses and
proper names already taken into account. Later steps (:mod:`.routing`, :mod:`.strength`,
:mod:`.verdicts`) read only the cues, never the sentence's matches again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .lexicon import Lexicon, Phrases
from .topics import Topics

__all__ = ["Hits", "Cues", "read_cues", "counted_absolutes"]

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



def counted_absolutes(c: Cues) -> list:
    """The absolutes that count: absolute words, rung-4 assertions, unhedged absolutes when nothing
    hedges the sentence, and marketing superlatives, except in a report of what a study observed."""
    out = list(c.absolutes) + [m for lvl, m in c.assertions if lvl >= 4]
    if not c.hedges and not c.past_report:
        out += list(c.absolutes_unhedged)
    if not c.past_report:
        out += list(c.marketing)
    return out

