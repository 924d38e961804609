"""What the review team's decisions change in a rating, and the sentences that disclose each one.

An override replaces the step the rules computed for a domain; an exclusion leaves a study or result
out. Each is disclosed with the level before and after it and the reason and name given ("Certainty
raised from moderate to high by the review team: ..."). :func:`pair_caveats` keeps every caveat and
puts beside it the override it contradicts, so a leaflet never reads "high certainty" above "too
few people to be sure" without saying why. Reading and validating the decisions is
:mod:`.decisions`.

Notes
-----
GRADE Handbook (Schünemann et al. 2013) 5; Guyatt et al. 2011, GRADE 1: judgements that depart
from the rules are allowed when they are explicit and their reason is given.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

import pandas as pd

from ..vocab import CERTAINTY_LEVELS, DOWN_DOMAINS
from ..errors import InputError
from .decisions import (Decisions, Exclusion, Override, domain_key, domain_words,
                        question_decisions, step_words)

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question
    from .rating import CertaintyRating

__all__ = [
    "CAVEAT_DOMAINS", "DomainChange", "ExclusionOutcome", "OverrideOutcome", "PairedCaveat",
    "apply_exclusions", "apply_overrides", "compare_ratings", "disclose_overrides",
    "excluded_records", "pair_caveats", "without_excluded",
]

#: The GRADE domain a study caveat bears on (caveat kinds as in ``records.CaveatKind``); a caveat
#: of a kind not listed bears on no domain and is never paired (it is still kept).
CAVEAT_DOMAINS: Mapping[str, str] = {
    "small-sample": "imprecision",
    "imprecision": "imprecision",
    "only-p-values": "imprecision",
    "risk-of-bias": "risk-of-bias",
    "no-sham": "risk-of-bias",
    "no-control": "risk-of-bias",
    "protocol-change": "risk-of-bias",
    "misreported": "risk-of-bias",
    "conflict-of-interest": "risk-of-bias",
    "population": "indirectness",
    "short-follow-up": "indirectness",
    "mechanism-hypothesis": "indirectness",
    "negative-trial": "inconsistency",
}


# ---------------------------------------------------------------------------------------------
# applying overrides


class DomainChange(NamedTuple):
    """One overridden domain: the rules' step and the decided one."""

    domain: str
    computed: int
    computed_reason: str
    decided: int
    reason: str
    decided_by: str

    @property
    def changed(self) -> bool:
        return self.decided != self.computed

    def sentence(self) -> str:
        """E.g. "Imprecision not rated down by the review team (the rules: rated down one
        level, CI includes no effect): <reason>."."""
        rule = step_words(self.domain, self.computed)
        if self.computed_reason:
            rule = f"{rule}, {self.computed_reason}"
        if not self.changed:
            return (f"{domain_words(self.domain).capitalize()}: the rules' judgement "
                    f"({rule}) confirmed by {self.decided_by}: {self.reason}")
        return (f"{domain_words(self.domain).capitalize()} "
                f"{step_words(self.domain, self.decided)} by {self.decided_by} "
                f"(the rules: {rule}): {self.reason}")


@dataclass(frozen=True, slots=True)
class OverrideOutcome:
    """What a set of overrides does to one rating."""

    level_before: str
    level_after: str
    changes: tuple[DomainChange, ...]
    disclosures: tuple[str, ...]

    @property
    def level_changed(self) -> bool:
        return self.level_before != self.level_after

    def to_dict(self) -> dict[str, Any]:
        return {"level_before": self.level_before, "level_after": self.level_after,
                "changes": [c._asdict() for c in self.changes],
                "disclosures": list(self.disclosures)}

    def to_frame(self) -> pd.DataFrame:
        """One row per overridden domain."""
        return pd.DataFrame([c._asdict() for c in self.changes],
                            columns=list(DomainChange._fields))

    def summary(self) -> str:
        head = (f"certainty {self.level_before} -> {self.level_after}" if self.level_changed
                else f"certainty stays {self.level_after}")
        return "\n".join([head] + [f"  {d}" for d in self.disclosures])


def _level_index(level: str, what: str) -> int:
    if level not in CERTAINTY_LEVELS:
        raise InputError(f"{what} {level!r} is not a certainty level: use one of "
                         f"{', '.join(CERTAINTY_LEVELS)}", field=what)
    return CERTAINTY_LEVELS.index(level)


def _steps(steps: Mapping[str, Any] | Iterable[Any]) -> dict[str, tuple[int, str]]:
    """Accept {domain: change}, {domain: (change, reason)} or step objects (domain, change,
    reason attributes, as ``rating.CertaintyStep``)."""
    out: dict[str, tuple[int, str]] = {}
    items = steps.items() if isinstance(steps, Mapping) else (
        (getattr(s, "domain"), (getattr(s, "change"), getattr(s, "reason", ""))) for s in steps)
    for domain, value in items:
        change, reason = ((value, "") if isinstance(value, numbers.Integral)
                          else (value[0], value[1] or ""))
        out[domain_key(domain)] = (int(change), str(reason))
    return out


def _who(changes: Sequence[DomainChange]) -> str:
    names = list(dict.fromkeys(c.decided_by for c in changes))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def disclose_overrides(level_before: str, level_after: str, changes: Sequence[DomainChange]
                      ) -> tuple[str, ...]:
    """The sentences that disclose overrides: the level's move first, then each domain.

    E.g. "Certainty raised from moderate to high by the review team: <reason>." followed by
    "Imprecision not rated down by the review team (the rules: rated down one level): <reason>."
    Nothing is disclosed when there are no changes.
    """
    if not changes:
        return ()
    before = _level_index(level_before, "level_before")
    after = _level_index(level_after, "level_after")
    reasons = "; ".join(c.reason if len(changes) == 1
                        else f"{domain_words(c.domain)}: {c.reason}" for c in changes)
    who = _who(changes)
    if after != before:
        moved = "raised" if after > before else "lowered"
        head = f"Certainty {moved} from {level_before} to {level_after} by {who}: {reasons}"
    else:
        head = f"Certainty stays {level_after} after the judgement of {who}: {reasons}"
    return tuple(_sentence(s) for s in [head] + [c.sentence() for c in changes])


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def apply_overrides(start: str, steps: Mapping[str, Any] | Iterable[Any],
                    decisions: Decisions | Sequence[Override], *,
                    cap: str | None = None) -> OverrideOutcome:
    """Apply overrides to a rating's steps and say what changed.

    Parameters
    ----------
    start
        The starting level (from the study designs), one of :data:`CERTAINTY_LEVELS`.
    steps
        The computed steps: ``{domain: change}``, ``{domain: (change, reason)}`` or step objects
        with ``domain``, ``change`` and ``reason`` (``CertaintyRating.steps``). A domain not
        given counts as 0. Steps of other names (a synthesis rule) are kept as they are and
        cannot be overridden.
    decisions
        The overrides (a :class:`Decisions` or a sequence of :class:`Override`).
    cap
        A level the result may not exceed whatever the overrides say (a rule such as "vote
        counting cannot support more than low"); None for no cap.

    Returns
    -------
    OverrideOutcome
        Levels before and after, one :class:`DomainChange` per override, and the disclosure
        sentences (:func:`disclose_overrides`).

    Notes
    -----
    GRADE's arithmetic (GRADE Handbook 5.2): the level is the start plus every domain's step,
    kept within very low .. high, then at most ``cap``. Both levels are computed the same way,
    so the difference is the overrides' alone.
    """
    start_index = _level_index(start, "start")
    cap_index = 3 if cap is None else _level_index(cap, "cap")
    computed = _steps(steps)
    overrides = decisions.overrides if isinstance(decisions, Decisions) else tuple(decisions)

    def level(changes: Mapping[str, tuple[int, str]]) -> str:
        index = start_index + sum(change for change, _ in changes.values())
        return CERTAINTY_LEVELS[min(cap_index, max(0, min(3, index)))]

    decided = dict(computed)
    changes = []
    for o in overrides:
        rule, rule_reason = computed.get(o.domain, (0, ""))
        decided[o.domain] = (o.change, o.reason)
        changes.append(DomainChange(o.domain, rule, rule_reason, o.change, o.reason,
                                    o.decided_by))
    before, after = level(computed), level(decided)
    return OverrideOutcome(level_before=before, level_after=after, changes=tuple(changes),
                           disclosures=disclose_overrides(before, after, changes))


def compare_ratings(before: CertaintyRating, after: CertaintyRating,
                    decisions: Decisions | Sequence[Override]) -> OverrideOutcome:
    """What the overrides changed, read from two ratings of one question.

    For a rating engine that applies the overrides itself (``rate_certainty(question, library,
    overrides=decisions.certainty_overrides())``): ``before`` is its rating without them,
    ``after`` with them. The levels are the engine's own (its caps and rules included), the
    rules' steps come from ``before.steps``; each needs ``level`` and ``steps`` (objects with
    ``domain``, ``change``, ``reason``).
    """
    overrides = decisions.overrides if isinstance(decisions, Decisions) else tuple(decisions)
    computed = _steps(before.steps)
    changes = tuple(DomainChange(o.domain, *computed.get(o.domain, (0, "")), o.change, o.reason,
                                 o.decided_by) for o in overrides)
    return OverrideOutcome(level_before=before.level, level_after=after.level, changes=changes,
                           disclosures=disclose_overrides(before.level, after.level, changes))


# ---------------------------------------------------------------------------------------------
# applying exclusions


@dataclass(frozen=True, slots=True)
class ExclusionOutcome:
    """Which records the exclusions leave out, and the sentences that say so."""

    kept: tuple[str, ...]
    excluded: tuple[tuple[str, Exclusion], ...]
    unused: tuple[Exclusion, ...]
    disclosures: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"record": rec, "excluded_by": e.record, "reason": e.reason,
                              "decided_by": e.decided_by} for rec, e in self.excluded],
                            columns=["record", "excluded_by", "reason", "decided_by"])

    def summary(self) -> str:
        lines = [f"{len(self.kept)} record(s) kept, {len(self.excluded)} excluded"]
        lines += [f"  {d}" for d in self.disclosures]
        lines += [f"  exclusion of {e.record} matches no record here" for e in self.unused]
        return "\n".join(lines)


def apply_exclusions(records: Iterable[str], decisions: Decisions | Sequence[Exclusion]
                    ) -> ExclusionOutcome:
    """Split a question's records (``study`` or ``study#result``) into kept and excluded.

    An exclusion without ``result`` covers the study and every result of it. ``unused`` lists
    exclusions that match none of ``records`` (a decision about another question, or a typo the
    validator could not catch without the known ids). Each exclusion used is disclosed once:
    "lee2021 excluded by the review team: <reason>." or, for one result, "Result pain-12w of
    lee2021 excluded by ...".
    """
    exclusions = decisions.exclusions if isinstance(decisions, Decisions) else tuple(decisions)
    kept, excluded, used = [], [], []
    for record in records:
        match = next((e for e in exclusions if e.covers(record)), None)
        if match is None:
            kept.append(record)
        else:
            excluded.append((record, match))
            if match not in used:
                used.append(match)
    disclosures = tuple(
        _sentence(f"{e.study} excluded by {e.decided_by}: {e.reason}" if e.result is None
                  else f"Result {e.result} of {e.study} excluded by {e.decided_by}: {e.reason}")
        for e in used)
    return ExclusionOutcome(kept=tuple(kept), excluded=tuple(excluded),
                            unused=tuple(e for e in exclusions if e not in used),
                            disclosures=disclosures)


# ---------------------------------------------------------------------------------------------
# caveats beside overrides


class PairedCaveat(NamedTuple):
    """A caveat, kept as written, with the override of its domain beside it (if any).

    ``contradicts`` is True when the override judges the caveat's domain less serious than the
    rules did (or, without the rules' step, not serious at all): the reader then sees both.
    """

    text: str
    kind: str | None
    domain: str | None
    override: Override | None
    contradicts: bool

    def shown(self) -> str:
        """The caveat, and after it the override it contradicts, in one paragraph."""
        if self.override is None or not self.contradicts:
            return self.text
        return (f"{self.text} ({domain_words(self.override.domain).capitalize()} "
                f"{step_words(self.override.domain, self.override.change)} by "
                f"{self.override.decided_by}: {_sentence(self.override.reason)})")


def _caveat_parts(caveat: Any) -> tuple[str, str | None]:
    if isinstance(caveat, str):
        return caveat, None
    if isinstance(caveat, Mapping):
        return str(caveat.get("text", "")), caveat.get("kind")
    if isinstance(caveat, tuple) and len(caveat) == 2:
        kind, text = caveat
        return str(text), kind
    return str(getattr(caveat, "text")), getattr(caveat, "kind", None)


def pair_caveats(caveats: Iterable[Any], decisions: Decisions | Sequence[Override],
                 computed: Mapping[str, Any] | Iterable[Any] | None = None
                ) -> tuple[PairedCaveat, ...]:
    """Every caveat, in order, each with the override of the domain it bears on.

    Parameters
    ----------
    caveats
        Caveats as objects with ``kind`` and ``text`` (``records.Caveat``), mappings with those
        keys, ``(kind, text)`` pairs, or plain strings (kind unknown: kept, never paired).
    decisions
        The overrides.
    computed
        The rules' steps (as :func:`apply_overrides` takes them), to tell an override that
        relaxes a domain from one that confirms or tightens it.

    Returns
    -------
    tuple of PairedCaveat
        As many as ``caveats``, in their order: nothing is dropped.

    Notes
    -----
    The kind -> domain map is :data:`CAVEAT_DOMAINS` (e.g. "small-sample" bears on imprecision,
    GRADE 6; "no-sham" on risk of bias, GRADE 4). A caveat contradicts an override when the
    override's step is above the rules' step for that domain (rated down less, or up more); a
    reader must see the caveat and the reason it was set aside together (GRADE 1: judgements
    transparent).
    """
    overrides = decisions.overrides if isinstance(decisions, Decisions) else tuple(decisions)
    by_domain = {o.domain: o for o in overrides}
    rules = _steps(computed) if computed is not None else None
    out = []
    for caveat in caveats:
        text, kind = _caveat_parts(caveat)
        domain = CAVEAT_DOMAINS.get(kind) if kind else None
        override = by_domain.get(domain) if domain else None
        if override is None:
            contradicts = False
        elif rules is not None:
            contradicts = override.change > rules.get(domain, (0, ""))[0]
        else:
            contradicts = override.change >= 0 and domain in DOWN_DOMAINS
        out.append(PairedCaveat(text=text, kind=kind, domain=domain, override=override,
                                contradicts=contradicts))
    return tuple(out)


def without_excluded(question: Question, library: Library, decisions: Decisions | None = None
                    ) -> Question:
    """The question with the excluded studies and results left out of its ``evidence``.

    An entry naming a whole study is expanded to the study's result ids when only some of its
    results are excluded, so the other results stay in; an entry with nothing left is dropped.
    The question's ``decisions`` are kept, so the exclusions can still be disclosed.
    """
    decisions = question_decisions(question) if decisions is None else decisions
    if not decisions.exclusions:
        return question
    entries = []
    for entry in question.evidence:
        if any(e.result is None and e.study == entry.study for e in decisions.exclusions):
            continue
        results = tuple(entry.results)
        if not results and any(e.study == entry.study for e in decisions.exclusions):
            results = tuple(r.id for r in library.study(entry.study).results)
        kept = apply_exclusions([f"{entry.study}#{r}" for r in results], decisions).kept
        if results and not kept:
            continue
        entries.append(entry if len(kept) == len(results)
                       else entry.model_copy(update={"results": tuple(
                           k.partition("#")[2] for k in kept)}))
    return question.model_copy(update={"evidence": tuple(entries)})


def excluded_records(question: Question, library: Library) -> ExclusionOutcome:
    """Which of the question's records its decisions exclude, with the disclosing sentences."""
    decisions = question_decisions(question)
    records = []
    for entry in question.evidence:
        ids = tuple(entry.results) or tuple(r.id for r in library.study(entry.study).results)
        records += [f"{entry.study}#{r}" for r in ids] or [entry.study]
    return apply_exclusions(records, decisions)
