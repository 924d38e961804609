"""Clinician decisions as data: certainty overrides and exclusions, each with a reason and a name.

A review team may disagree with a rule: judge imprecision not serious where the rule rated it
down, or leave out a study that the rules would use. GRADE allows this as long as the judgement is
explicit and its reason is given (GRADE Handbook 5; Guyatt 2011, GRADE 1 "transparent
judgements"). Here a decision is data, written where the evidence is (under a question in
``questions.yaml``, or in ``review.yaml``)::

    overrides:
      imprecision:
        change: 0                  # the step this domain takes instead of the computed one
        reason: The CI excludes the important threshold in both trials
        decided_by: the review team
    exclude:
      - study: smith2020           # the whole study ...
        reason: Retracted in 2024
        decided_by: the review team
      - study: lee2021             # ... or one of its results
        result: pain-12w
        reason: Outcome switched after registration
        decided_by: A. Clinician

:func:`parse_decisions` validates such a mapping (every message names the file, field and fix);
:func:`apply_overrides` and :func:`apply_exclusions` say what the decisions change and give the
sentence that discloses each one ("certainty raised from moderate to high by the review team:
..."); :func:`pair_caveats` keeps every caveat and puts beside it the override it contradicts, so a
leaflet never reads "high certainty" above "too few people to be sure" without saying why.
"""
from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

import pandas as pd

from ..vocab import CERTAINTY_LEVELS, DOWN_DOMAINS, UP_DOMAINS
from ..errors import InputError, Message

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question
    from .rating import CertaintyRating

__all__ = [
    "CERTAINTY_LEVELS", "DOWN_DOMAINS", "UP_DOMAINS", "DOMAINS", "DECISION_KEYS",
    "CAVEAT_DOMAINS", "Override", "Exclusion", "Decisions", "DecisionsError", "DomainChange",
    "OverrideOutcome", "ExclusionOutcome", "PairedCaveat", "parse_decisions",
    "validate_decisions", "apply_overrides", "disclose_overrides", "compare_ratings",
    "apply_exclusions",
    "pair_caveats", "question_decisions", "without_excluded", "excluded_records",
    "with_decisions",
]

#: Every domain a decision may override; the same names as ``certainty.OVERRIDABLE`` (a test
#: holds them equal). Kept here so that decisions, read with the evidence, do not depend on the
#: rating engine that applies them.
DOMAINS = DOWN_DOMAINS + UP_DOMAINS
#: The keys of a decisions mapping.
DECISION_KEYS = ("overrides", "exclude")
_OVERRIDE_KEYS = ("change", "reason", "decided_by")
_EXCLUDE_KEYS = ("study", "result", "reason", "decided_by")

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
# the decisions


@dataclass(frozen=True, slots=True)
class Override:
    """A domain's step set by a person instead of the rules: ``change`` levels, with a reason."""

    domain: str
    change: int
    reason: str
    decided_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "reason": self.reason, "decided_by": self.decided_by}


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A study, or one result of it (``result``), left out of a question's evidence."""

    study: str
    reason: str
    decided_by: str
    result: str | None = None

    @property
    def record(self) -> str:
        """``study#result``, or ``study`` when the whole study is excluded."""
        return f"{self.study}#{self.result}" if self.result else self.study

    def covers(self, record: str) -> bool:
        """True when ``record`` (``study`` or ``study#result``) is excluded by this decision."""
        study, _, result = record.partition("#")
        if study != self.study:
            return False
        return self.result is None or result == self.result

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"study": self.study}
        if self.result is not None:
            d["result"] = self.result
        d.update(reason=self.reason, decided_by=self.decided_by)
        return d


@dataclass(frozen=True, slots=True)
class Decisions:
    """One question's (or one review's) decisions, validated and frozen."""

    overrides: tuple[Override, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.overrides or self.exclusions)

    def override(self, domain: str) -> Override | None:
        """The override of ``domain`` (any spelling: ``risk_of_bias``, ``risk of bias``)."""
        wanted = _domain_key(domain)
        return next((o for o in self.overrides if o.domain == wanted), None)

    def certainty_overrides(self) -> dict[str, tuple[int, str]]:
        """``{domain: (change, reason)}``, the form ``certainty.rate_certainty`` takes; the
        reason names who decided, so the rating's own text carries it."""
        return {o.domain: (o.change, f"{o.reason} (decided by {o.decided_by})")
                for o in self.overrides}

    def to_dict(self) -> dict[str, Any]:
        """The mapping :func:`parse_decisions` reads (a round trip gives equal decisions)."""
        d: dict[str, Any] = {}
        if self.overrides:
            d["overrides"] = {o.domain: o.to_dict() for o in self.overrides}
        if self.exclusions:
            d["exclude"] = [e.to_dict() for e in self.exclusions]
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per decision: kind, target (domain or record), change, reason, decided_by."""
        rows = [{"kind": "override", "target": o.domain, "change": o.change, "reason": o.reason,
                 "decided_by": o.decided_by} for o in self.overrides]
        rows += [{"kind": "exclude", "target": e.record, "change": None, "reason": e.reason,
                  "decided_by": e.decided_by} for e in self.exclusions]
        return pd.DataFrame(rows, columns=["kind", "target", "change", "reason", "decided_by"])

    def summary(self) -> str:
        """One line per decision, for people."""
        if not self:
            return "No decisions: every domain and every study as the rules give them."
        lines = [f"{len(self.overrides)} override(s), {len(self.exclusions)} exclusion(s)"]
        lines += [f"  {_domain_words(o.domain)}: {_step_words(o.domain, o.change)}, by "
                  f"{o.decided_by}: {o.reason}" for o in self.overrides]
        lines += [f"  exclude {e.record}, by {e.decided_by}: {e.reason}" for e in self.exclusions]
        return "\n".join(lines)


class DecisionsError(InputError):
    """Decisions that cannot be used; ``messages`` holds every problem found."""

    def __init__(self, messages: Sequence[Message]):
        self.messages = tuple(messages)
        first = self.messages[0]
        text = "\n  ".join(str(m) for m in self.messages)
        # the header names the file only: each listed message carries its own line and field
        super().__init__(f"{len(self.messages)} problem(s) in the decisions:\n  {text}",
                         file=first.file)


# ---------------------------------------------------------------------------------------------
# reading and validating


def _domain_key(name: Any) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def _domain_words(domain: str) -> str:
    return domain.replace("-", " ")


def _closest(name: str, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


class _Reader:
    """Collects messages with file, line and field while a mapping is read."""

    def __init__(self, file: str | None, field: str, lines: Mapping[str, int] | None):
        self.file, self.base, self.lines = file, field, lines or {}
        self.messages: list[Message] = []

    def path(self, *parts: str | int) -> str:
        out = self.base
        for part in parts:
            out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else part)
        return out

    def error(self, field: str, message: str) -> None:
        self.messages.append(Message(file=self.file, line=self._line(field), field=field,
                                     message=message))

    def _line(self, field: str) -> int | None:
        # the line of the field itself, else of the nearest enclosing field that has one
        probe = field
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None

    def text(self, entry: Mapping[str, Any], key: str, field: str, what: str) -> str | None:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.error(field, f"{what} is required: {_WHY[key]}")
            return None
        if not isinstance(value, str):
            self.error(field, f"{what} must be text, not {type(value).__name__}")
            return None
        if key == "reason" and not any(ch.isalpha() for ch in value):
            self.error(field, f"{what} {value!r} says nothing: {_WHY[key]}")
            return None
        return " ".join(value.split())

    def unknown_keys(self, entry: Mapping[str, Any], allowed: Sequence[str], *parts) -> None:
        for key in entry:
            if key not in allowed:
                self.error(self.path(*parts, str(key)),
                           f"unknown field {key!r}{_closest(str(key), allowed)}; "
                           f"use {', '.join(allowed)}")


_WHY = {
    "reason": "say in words why the rules' judgement is set aside (it is shown to readers)",
    "decided_by": "name who decided (a person or 'the review team'); it is shown to readers",
    "study": "give the study id (its BibTeX key)",
}


def _known(known_studies: Mapping[str, Iterable[str]] | Iterable[str] | None
           ) -> tuple[set[str] | None, dict[str, set[str]] | None]:
    if known_studies is None:
        return None, None
    if isinstance(known_studies, Mapping):
        results = {str(s): {str(r) for r in (ids or ())} for s, ids in known_studies.items()}
        return set(results), results
    return {str(s) for s in known_studies}, None


def _read_overrides(data: Any, r: _Reader) -> list[Override]:
    out: list[Override] = []
    where = r.path("overrides")
    if not isinstance(data, Mapping):
        r.error(where, "overrides must be a mapping of domain -> {change, reason, decided_by}, "
                       f"domains: {', '.join(DOMAINS)}")
        return out
    seen: dict[str, str] = {}
    for key, entry in data.items():
        domain = _domain_key(key)
        field = r.path("overrides", str(key))
        if domain not in DOMAINS:
            r.error(field, f"unknown domain {key!r}{_closest(domain, DOMAINS)}; choose one of "
                           f"{', '.join(DOMAINS)}")
            continue
        if domain in seen:
            r.error(field, f"{domain} is overridden twice (also as {seen[domain]!r}); keep one")
            continue
        seen[domain] = str(key)
        if not isinstance(entry, Mapping):
            r.error(field, "an override is a mapping with change, reason and decided_by, e.g. "
                           "{change: 0, reason: ..., decided_by: the review team}")
            continue
        r.unknown_keys(entry, _OVERRIDE_KEYS, "overrides", str(key))
        change = entry.get("change")
        low, high = (-2, 0) if domain in DOWN_DOMAINS else (0, 2)
        ok_change = (isinstance(change, int) and not isinstance(change, bool)
                     and low <= change <= high)
        if not ok_change:
            meaning = ("0: not serious, -1: serious, -2: very serious" if low < 0
                       else "0: not rated up, +1 or +2: rated up")
            r.error(r.path("overrides", str(key), "change"),
                    f"change must be a whole number of levels from {low} to {high} for "
                    f"{domain} ({meaning}), not {change!r}")
        reason = r.text(entry, "reason", r.path("overrides", str(key), "reason"), "reason")
        by = r.text(entry, "decided_by", r.path("overrides", str(key), "decided_by"),
                    "decided_by")
        if ok_change and reason and by:
            out.append(Override(domain=domain, change=int(change), reason=reason, decided_by=by))
    return out


def _read_exclusions(data: Any, r: _Reader, studies: set[str] | None,
                     results: dict[str, set[str]] | None) -> list[Exclusion]:
    out: list[Exclusion] = []
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        r.error(r.path("exclude"), "exclude must be a list of {study, result (optional), reason, "
                                   "decided_by}")
        return out
    seen: set[str] = set()
    for i, entry in enumerate(data):
        field = r.path("exclude", i)
        if not isinstance(entry, Mapping):
            r.error(field, "each exclusion is a mapping: {study: ID, reason: ..., decided_by: "
                           "...}, with result: ID to exclude one result only")
            continue
        r.unknown_keys(entry, _EXCLUDE_KEYS, "exclude", i)
        study = r.text(entry, "study", r.path("exclude", i, "study"), "study")
        result = entry.get("result")
        if result is not None and not (isinstance(result, str) and result.strip()):
            r.error(r.path("exclude", i, "result"), "result must be a result id (text); leave "
                                                    "it out to exclude the whole study")
            result = None
        elif result is not None:
            result = result.strip()
        if study is not None and studies is not None and study not in studies:
            r.error(r.path("exclude", i, "study"),
                    f"unknown study id {study!r}{_closest(study, studies)}; the ids are the "
                    "BibTeX keys of evidence/studies/*.yaml")
            study = None
        if (study is not None and result is not None and results is not None
                and result not in results.get(study, set())):
            r.error(r.path("exclude", i, "result"),
                    f"{study} has no result {result!r}{_closest(result, results.get(study, ()))}"
                    f"; its results are: {', '.join(sorted(results.get(study, ()))) or 'none'}")
            study = None
        reason = r.text(entry, "reason", r.path("exclude", i, "reason"), "reason")
        by = r.text(entry, "decided_by", r.path("exclude", i, "decided_by"), "decided_by")
        if study and reason and by:
            exclusion = Exclusion(study=study, result=result, reason=reason, decided_by=by)
            if exclusion.record in seen:
                r.error(field, f"{exclusion.record} is excluded twice; keep one entry")
                continue
            seen.add(exclusion.record)
            out.append(exclusion)
    return out


def _read(data: Mapping[str, Any] | None, file: str | None, field: str,
          known_studies, lines, only_decision_keys: bool) -> tuple[Decisions, list[Message]]:
    r = _Reader(file, field, lines)
    if data is None:
        return Decisions(), []
    if not isinstance(data, Mapping):
        r.error(field or "decisions", "decisions must be a mapping with overrides and/or "
                                      "exclude")
        return Decisions(), r.messages
    if not only_decision_keys:
        r.unknown_keys(data, DECISION_KEYS)
    studies, results = _known(known_studies)
    overrides = _read_overrides(data["overrides"], r) if data.get("overrides") is not None else []
    exclusions = (_read_exclusions(data["exclude"], r, studies, results)
                  if data.get("exclude") is not None else [])
    return Decisions(overrides=tuple(overrides), exclusions=tuple(exclusions)), r.messages


def validate_decisions(data: Mapping[str, Any] | None, *, file: str | None = None,
                       field: str = "", known_studies=None,
                       lines: Mapping[str, int] | None = None,
                       only_decision_keys: bool = False) -> tuple[Message, ...]:
    """Every problem in a decisions mapping, as validation messages (empty: all is well).

    Parameters are those of :func:`parse_decisions`.
    """
    return tuple(_read(data, file, field, known_studies, lines, only_decision_keys)[1])


def parse_decisions(data: Mapping[str, Any] | None, *, file: str | None = None,
                    field: str = "", known_studies=None,
                    lines: Mapping[str, int] | None = None,
                    only_decision_keys: bool = False) -> Decisions:
    """Read and validate decisions from a plain mapping (as loaded from YAML).

    Parameters
    ----------
    data
        ``{"overrides": {domain: {change, reason, decided_by}}, "exclude": [{study, result?,
        reason, decided_by}]}``; None or empty means no decisions.
    file
        The file the mapping came from, named in every message.
    field
        Where the mapping sits in that file, prefixed to every field path (e.g.
        ``"questions[2]"`` gives ``questions[2].overrides.imprecision.reason``).
    known_studies
        The study ids that exist (then an unknown id is an error), or a mapping study id ->
        its result ids (then an unknown result id is an error too).
    lines
        Field path -> line number, where the caller knows them (a YAML node's marks); a message
        takes the line of its field or of the nearest enclosing one.
    only_decision_keys
        True when ``data`` holds other keys too (a whole question): only ``overrides`` and
        ``exclude`` are read and the rest is not reported as unknown.

    Returns
    -------
    Decisions

    Raises
    ------
    DecisionsError
        An :class:`~evidencekit.errors.InputError` listing every problem: an unknown domain
        or field (with the closest valid name), a change outside the domain's range, a missing
        or empty ``reason`` or ``decided_by``, an unknown study or result id.

    Notes
    -----
    A rating-down domain (GRADE 4-8) takes a step of 0 (not serious), -1 (serious) or -2 (very
    serious); a rating-up domain (GRADE 9) 0, +1 or +2 (GRADE Handbook 5.2 and 5.3).
    """
    decisions, messages = _read(data, file, field, known_studies, lines, only_decision_keys)
    if messages:
        raise DecisionsError(messages)
    return decisions


# ---------------------------------------------------------------------------------------------
# applying overrides


def _step_words(domain: str, change: int) -> str:
    if change == 0:
        return "not rated up" if domain in UP_DOMAINS else "not rated down"
    levels = "one level" if abs(change) == 1 else f"{abs(change)} levels" if abs(change) > 2 \
        else "two levels"
    return f"rated {'up' if change > 0 else 'down'} {levels}"


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
        rule = _step_words(self.domain, self.computed)
        if self.computed_reason:
            rule = f"{rule}, {self.computed_reason}"
        if not self.changed:
            return (f"{_domain_words(self.domain).capitalize()}: the rules' judgement "
                    f"({rule}) confirmed by {self.decided_by}: {self.reason}")
        return (f"{_domain_words(self.domain).capitalize()} "
                f"{_step_words(self.domain, self.decided)} by {self.decided_by} "
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
    reason attributes, as ``certainty.CertaintyStep``)."""
    out: dict[str, tuple[int, str]] = {}
    items = steps.items() if isinstance(steps, Mapping) else (
        (getattr(s, "domain"), (getattr(s, "change"), getattr(s, "reason", ""))) for s in steps)
    for domain, value in items:
        change, reason = ((value, "") if isinstance(value, numbers.Integral)
                          else (value[0], value[1] or ""))
        out[_domain_key(domain)] = (int(change), str(reason))
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
                        else f"{_domain_words(c.domain)}: {c.reason}" for c in changes)
    who = _who(changes)
    if after != before:
        moved = "raised" if after > before else "lowered"
        head = f"Certainty {moved} from {level_before} to {level_after} by {who}: {reasons}"
    else:
        head = f"Certainty stays {level_after} after the judgement of {who}: {reasons}"
    return tuple(_sentence(s) for s in [head] + [c.sentence() for c in changes])


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def apply_overrides(start: str, steps, decisions: Decisions | Sequence[Override], *,
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


def compare_ratings(before: CertaintyRating, after: CertaintyRating, decisions: Decisions | Sequence[Override]) -> OverrideOutcome:
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
        return (f"{self.text} ({_domain_words(self.override.domain).capitalize()} "
                f"{_step_words(self.override.domain, self.override.change)} by "
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


# ---------------------------------------------------------------------------------------------
# decisions held by a question (questions.yaml) and by a library


def question_decisions(question: Question) -> Decisions:
    """The decisions written under a question (``decisions:`` in questions.yaml), parsed.

    A question without them gives empty :class:`Decisions`. The ids were checked against the
    library by ``evidencekit validate``; here only the shape is checked again.
    """
    return parse_decisions(getattr(question, "decisions", None), field="decisions")


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


def with_decisions(library: Library, decisions: Mapping[str, Mapping[str, Any]]) -> Library:
    """A copy of ``library`` whose questions carry ``decisions`` (question id -> mapping).

    The mapping per question is the ``decisions:`` block of questions.yaml (``overrides``,
    ``exclude``), checked here against the library's study and result ids; it replaces what
    the question had. For a notebook: settings typed as plain Python values go through the same
    checks and reach every output (ratings, claims, leaflet) as decisions written in the data.
    """
    import dataclasses

    unknown = sorted(set(decisions) - set(library.questions))
    if unknown:
        raise InputError(f"decisions name unknown question(s): {', '.join(unknown)}; use one of "
                         f"{', '.join(library.questions)}", field="decisions")
    known = {sid: {r.id for r in s.results} for sid, s in library.studies.items()}
    questions = dict(library.questions)
    for qid, data in decisions.items():
        parse_decisions(data, field=f"decisions[{qid}]", known_studies=known)
        questions[qid] = questions[qid].model_copy(update={"decisions": dict(data or {}) or None})
    return dataclasses.replace(library, questions=questions)
