"""GRADE-style certainty of the evidence for one review question, with every step recorded.

A question's body of evidence is the set of study results its ``evidence`` list points to. The
rating starts at *high* when randomised comparisons (or a review's pooled result of trials) inform
it and at *low* otherwise, then each GRADE domain moves it down (risk of bias, inconsistency,
indirectness, imprecision, publication bias) or, for non-randomised bodies only, up (large effect,
dose-response). Each move is a :class:`CertaintyStep` with its reason, so a clinician sees why and
can override a domain with a recorded reason of their own.

Where the results are p-values or words only there is nothing to pool; the direction of effect is
synthesised by vote counting as the SWiM guideline describes, and that caps the certainty at *low*.

This module puts the rules together; each lives with its concept: the body of evidence
(:mod:`.body`), the estimate (:mod:`.estimate`), the domains (:mod:`.study_domains`,
:mod:`.effect_domains`, :mod:`.frequencies`), the direction (:mod:`.direction`) and the rating
object (:mod:`.rating`).

Notes
-----
Sources: GRADE Handbook (Schünemann et al. 2013), sections 5.1 (start), 5.2.1-5.2.5 (rating down),
5.3 (rating up); Guyatt et al. 2011, J Clin Epidemiol 64: GRADE 3 (rating quality), 4 (risk of bias),
6 (imprecision), 7 (inconsistency), 8 (indirectness), 5 (publication bias), 9 (rating up); Cochrane
Handbook v6.4 ch. 14 (completing summary of findings tables and grading certainty) and 12.2.2.1
(vote counting based on direction of effect); Campbell et al. 2020, BMJ 368:l6890 (SWiM).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..vocab import CERTAINTY_LEVELS
from ..errors import InputError
from ..evidence.records import RANDOMISED_DESIGNS, Question
from .body import gather_body, included_trials
from .direction import body_direction, sign_test_p, study_votes
from .effect_domains import rate_imprecision, rate_inconsistency, rate_up
from .estimate import choose_main_estimate
from .rating import OVERRIDABLE, CertaintyRating, CertaintyStep
from .study_domains import rate_indirectness, rate_publication_bias, rate_risk_of_bias

if TYPE_CHECKING:
    from ..evidence.library import Library

__all__ = ["rate_all", "rate_certainty"]


def _normalise_overrides(overrides: Mapping[str, Any] | None) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for key, value in (overrides or {}).items():
        domain = str(key).strip().lower().replace("_", "-").replace(" ", "-")
        if domain not in OVERRIDABLE:
            raise InputError(f"cannot override {key!r}: choose one of {', '.join(OVERRIDABLE)}")
        try:
            change, reason = value
        except (TypeError, ValueError):
            raise InputError(f"override for {key!r} must be (change, reason), e.g. "
                             "(-1, 'CI is wide for patients')") from None
        if not isinstance(change, int) or isinstance(change, bool) or not -2 <= change <= 2:
            raise InputError(f"override for {key!r}: change must be an integer from -2 to 2")
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise InputError(f"override for {key!r} needs a reason: say why the clinician "
                             "disagrees")
        out[domain] = (change, reason.strip())
    return out


def rate_certainty(question: Question, library: Library, overrides: Mapping[str, Any] | None = None
                  ) -> CertaintyRating:
    """Rate the certainty of a question's body of evidence, GRADE style.

    Parameters
    ----------
    question
        The question (its ``evidence`` list points to studies and result ids).
    library
        Anything with ``.study(key)`` and ``.studies`` (a :class:`~evidencekit.evidence.library.Library`).
    overrides
        ``{domain: (change, reason)}``, a clinician's judgement replacing the computed step of a
        domain (``"imprecision"``, ``"risk-of-bias"``, ...). The reason is required and recorded.

    Returns
    -------
    CertaintyRating

    Notes
    -----
    Rules, in order, with their sources:

    1. Start high when randomised comparisons (randomised or within-subject trials, or a
       review's pooled result of trials) inform the question, else low (GRADE Handbook 5.1;
       Guyatt 2011 GRADE 3). Within-group changes are never evidence of an effect (they include
       natural recovery, regression to the mean and placebo responses).
    2. Risk of bias: down 1 when studies giving most of the information (by participants) are
       at high or unclear risk, down 2 when every study is at high risk (GRADE 4).
    3. Inconsistency: down 1 when I² >= 50 % in our pooling or when studies disagree in
       direction (GRADE 7; Cochrane Handbook 10.10.2).
    4. Indirectness: down 1 when most information is indirect (a population, intervention or
       comparator other than the question's, an untreated opposite side as control), down 2 for
       animal-only evidence on claims about patients (GRADE 8).
    5. Imprecision: down 1 when the CI includes no effect or straddles the important threshold,
       or the total is below the optimal information size (~400, continuous outcomes); down 2
       when the CI includes important benefit and important harm, or includes no effect with a
       small total (GRADE 6).
    6. Publication bias: judged, not tested, with fewer than 10 studies (Cochrane Handbook
       13.3.5.4; GRADE 5).
    7. Rating up (large effect, dose-response) only for non-randomised bodies (GRADE 9).
    8. Synthesis cap: p-values or narrative only means vote counting on the direction of effect
       (SWiM, Campbell 2020; Cochrane Handbook 12.2.2.1), which cannot support more than low
       certainty; mechanism questions answered by animal work and narrative reviews are very
       low for claims about patients.
    """
    question, overrides = _with_question_decisions(question, library, overrides)
    over = _normalise_overrides(overrides)
    items, notes = gather_body(question, library)
    within = [i for i in items if i.role == "within-group"]
    if within:
        notes.append("within-group changes are not evidence of an effect (they include natural "
                     f"recovery, regression to the mean and placebo): {', '.join(i.record for i in within)}")
    body = [i for i in items if i.role in ("estimate", "direction")]
    if not body:
        reason = ("no study in the library reports a comparison for this question"
                  + ("; only within-group changes were found" if within else ""))
        return CertaintyRating(question=question.id, title=question.title, kind=question.kind,
                               start="very low", level="very low",
                               steps=(CertaintyStep("synthesis", 0, reason),),
                               direction="no-evidence", synthesis="none", items=tuple(items),
                               notes=tuple(notes))

    main = choose_main_estimate(question, items, library, notes)
    if (main is not None and not main.scale_stated and question.important_effect is not None):
        notes.append(f"{main.records[0]}: the scale of the {main.measure} is not stated, so it is "
                     f"not compared with the important threshold "
                     f"({question.important_effect.scale}); no scale is assumed")
    # Studies inside the chosen review are represented by it: do not count them twice.
    included = included_trials(library)
    inside: set[str] = set()
    if main is not None and main.source == "review-pooled":
        inside = included.get(main.records[0].split("#")[0], set())
        twice = sorted({i.study for i in body} & inside)
        if twice:
            notes.append(f"{', '.join(twice)} included in {main.records[0].split('#')[0]}: "
                         "counted once (through the review)")
    votes = study_votes(body, inside)

    randomised = [i for i in body if i.design in RANDOMISED_DESIGNS or i.contrast == "review-pooled"]
    start_index = 3 if randomised else 1
    start_reason = (f"randomised evidence ({', '.join(sorted({i.study for i in randomised}))}): "
                    "start high (GRADE Handbook 5.1)" if randomised else
                    "no randomised comparison: start low (GRADE Handbook 5.1)")
    notes.insert(0, start_reason)

    counted = [i for i in body if i.study not in inside]
    known = {i.study: i.n for i in counted if i.n}
    total_n = sum(max(i.n for i in counted if i.study == s) for s in known) or None
    n_complete = len(known) == len({i.study for i in counted})
    if main is not None and main.n:
        total_n = max(total_n or 0, main.n)
    steps = [rate_risk_of_bias(body, main), rate_inconsistency(body, main, votes),
             rate_indirectness(body, question),
             rate_imprecision(main, body, total_n, n_complete, question),
             rate_publication_bias(body, main)]
    steps += rate_up(start_index, main, steps)

    final: list[CertaintyStep] = []
    for step in steps:
        if step.domain in over:
            change, reason = over[step.domain]
            final.append(CertaintyStep(step.domain, change, f"clinician override: {reason} "
                                       f"(computed {step.change:+d}: {step.reason})", override=True))
        else:
            final.append(step)

    index = start_index + sum(s.change for s in final)
    synthesis = (main.source if main is not None else "vote-counting")
    cap, cap_reason = 3, None
    if main is None:
        p = sign_test_p(votes["benefit"], votes["harm"])
        cap, cap_reason = 1, (
            f"p-values or words only: synthesised without meta-analysis by vote counting on the "
            f"direction of effect (SWiM, Campbell 2020): {votes['benefit']} of "
            f"{sum(votes.values())} studies favour {question.intervention.strip()}"
            + (f", sign test p = {p:.2g}" if p is not None else "")
            + "; without effect sizes certainty cannot be above low")
    if question.kind == "mechanism" and not any(
            i.design in RANDOMISED_DESIGNS and not i.indirect for i in body):
        cap, cap_reason = 0, ("mechanism claims rest on animal work and narrative reviews, not on "
                              "measurements in patients: very low for claims about patients")
    if cap_reason is not None:
        change = min(0, cap - max(0, min(3, index)))
        final.append(CertaintyStep("synthesis", change, cap_reason))
        index = min(index, cap)
    index = max(0, min(3, index))
    direction = body_direction(main, votes)
    if (index == 0 and direction in ("benefit", "harm") and main is not None
            and main.benefit_low is not None and main.benefit_low < 0 < main.benefit_high):
        # Read only from the point estimate of a CI that includes no effect, a direction is not
        # asserted at very low certainty: GRADE 26's very-low statement names none ("the
        # evidence is very uncertain about the effect"), and a reader of the direction field (the
        # audit) must not take it as "the evidence points to harm" (or benefit).
        direction = "unclear"
    return CertaintyRating(question=question.id, title=question.title, kind=question.kind,
                           start=CERTAINTY_LEVELS[start_index], level=CERTAINTY_LEVELS[index],
                           steps=tuple(final), direction=direction,
                           synthesis=synthesis, main=main, items=tuple(items), notes=tuple(notes),
                           votes=dict(votes))


def rate_all(library: Library, overrides: Mapping[str, Mapping[str, Any]] | None = None
            ) -> dict[str, CertaintyRating]:
    """Rate every question in ``library.questions``; ``overrides`` maps question id -> overrides."""
    overrides = overrides or {}
    unknown = set(overrides) - set(library.questions)
    if unknown:
        raise InputError(f"overrides name unknown question(s): {', '.join(sorted(unknown))}")
    return {qid: rate_certainty(q, library, overrides.get(qid))
            for qid, q in library.questions.items()}


def _with_question_decisions(question: Question, library: Library,
                             overrides: Mapping[str, Any] | None
                             ) -> tuple[Question, Mapping[str, Any] | None]:
    """The question's own decisions (questions.yaml ``decisions:``) applied: its excluded studies
    and results left out, its overrides under those passed in (which win, domain by domain)."""
    from .decisions import question_decisions
    from .disclosure import without_excluded

    decisions = question_decisions(question)
    if not decisions:
        return question, overrides
    passed = _normalise_overrides(overrides)
    merged = {d: v for d, v in decisions.certainty_overrides().items()
              if d not in passed}
    return without_excluded(question, library, decisions), {**merged, **passed}
