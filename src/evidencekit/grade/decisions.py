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

:func:`parse_decisions` validates such a mapping (every message names the file, field and fix)
and :func:`question_decisions` reads the one under a question. What the decisions change, and the
sentence that discloses each one, is :mod:`.disclosure` (``apply_overrides``,
``apply_exclusions``, ``pair_caveats``).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import pandas as pd

from ..vocab import DOWN_DOMAINS, UP_DOMAINS
from ..errors import InputError, Message

if TYPE_CHECKING:
    from ..evidence.library import Library
    from ..evidence.records import Question

__all__ = [
    "DOMAINS", "DECISION_KEYS", "Override", "Exclusion", "Decisions", "DecisionsError",
    "parse_decisions", "validate_decisions", "question_decisions", "with_decisions",
]

#: Every domain a decision may override; the same names as ``rating.OVERRIDABLE`` (a test
#: holds them equal). Kept here so that decisions, read with the evidence, do not depend on the
#: rating engine that applies them.
DOMAINS = DOWN_DOMAINS + UP_DOMAINS
#: The ids decisions are checked against: study -> its result ids, or study ids only (None:
#: unchecked).
KnownStudies = Mapping[str, Iterable[str]] | Iterable[str] | None
#: The keys of a decisions mapping.
DECISION_KEYS = ("overrides", "exclude")
_OVERRIDE_KEYS = ("change", "reason", "decided_by")
_EXCLUDE_KEYS = ("study", "result", "reason", "decided_by")


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
        wanted = domain_key(domain)
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
        lines += [f"  {domain_words(o.domain)}: {step_words(o.domain, o.change)}, by "
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


def domain_key(name: Any) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def domain_words(domain: str) -> str:
    return domain.replace("-", " ")


def step_words(domain: str, change: int) -> str:
    """How a step reads: "not rated down", "rated up one level", "rated down two levels"."""
    if change == 0:
        return "not rated up" if domain in UP_DOMAINS else "not rated down"
    levels = "one level" if abs(change) == 1 else f"{abs(change)} levels" if abs(change) > 2 \
        else "two levels"
    return f"rated {'up' if change > 0 else 'down'} {levels}"


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


def _known(known_studies: KnownStudies
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
        domain = domain_key(key)
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
          known_studies: KnownStudies, lines: Mapping[str, int] | None,
          only_decision_keys: bool) -> tuple[Decisions, list[Message]]:
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
                       field: str = "", known_studies: KnownStudies = None,
                       lines: Mapping[str, int] | None = None,
                       only_decision_keys: bool = False) -> tuple[Message, ...]:
    """Every problem in a decisions mapping, as validation messages (empty: all is well).

    Parameters are those of :func:`parse_decisions`.
    """
    return tuple(_read(data, file, field, known_studies, lines, only_decision_keys)[1])


def parse_decisions(data: Mapping[str, Any] | None, *, file: str | None = None,
                    field: str = "", known_studies: KnownStudies = None,
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
# decisions held by a question (questions.yaml) and by a library


def question_decisions(question: Question) -> Decisions:
    """The decisions written under a question (``decisions:`` in questions.yaml), parsed.

    A question without them gives empty :class:`Decisions`. The ids were checked against the
    library by ``evidencekit validate``; here only the shape is checked again.
    """
    return parse_decisions(getattr(question, "decisions", None), field="decisions")


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
