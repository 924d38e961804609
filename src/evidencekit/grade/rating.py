"""The certainty rating of one question: its steps (one per GRADE domain, each with a reason).

:class:`CertaintyStep` is one move of the rating, :class:`CertaintyRating` the whole rating with the
body of evidence and the estimate it rests on. The rules that compute the steps are in
:mod:`.study_domains`, :mod:`.effect_domains` and :mod:`.frequencies`; :func:`.certainty.rate_certainty`
puts them together.

Notes
-----
GRADE Handbook (Schünemann et al. 2013) 5.2 (the four levels, the five reasons to rate down) and
5.3 (rating up); Guyatt et al. 2011, GRADE 3.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..vocab import CERTAINTY_LEVELS, DOWN_DOMAINS, NO_EVIDENCE, UP_DOMAINS
from ..errors import InputError
from .body import EvidenceItem
from .estimate import EffectSummary, estimate_text

__all__ = ["DOMAINS", "OVERRIDABLE", "CertaintyRating", "CertaintyStep", "level_index"]


#: Domains a clinician may override (GRADE judgements): the five reasons to rate down and the two
#: upgrades that can apply here, both from :mod:`evidencekit.vocab`. The start and the synthesis cap
#: are rules that follow from the study designs and from what was reported, so they are not
#: overridable. ``decisions.DOMAINS`` is derived the same way (a test holds them equal).
OVERRIDABLE = DOWN_DOMAINS + UP_DOMAINS

#: Domains a step can belong to: the overridable ones plus "synthesis" (the vote-counting and
#: mechanism caps), a rule rather than a judgement. Derived here, not a vocabulary of its own.
DOMAINS = OVERRIDABLE + ("synthesis",)


def level_index(level: str) -> int:
    """Index of a certainty level in :data:`CERTAINTY_LEVELS` (0 = very low ... 3 = high).

    "no evidence" (a comparison no study answers, which GRADE gives no level) allows no more
    than the weakest wording, so it shares index 0.
    """
    if level == NO_EVIDENCE:
        return 0
    try:
        return CERTAINTY_LEVELS.index(level)
    except ValueError:
        raise InputError(f"unknown certainty level {level!r}; use one of "
                         f"{', '.join(CERTAINTY_LEVELS)}") from None


@dataclass(frozen=True)
class CertaintyStep:
    """One move of the rating: a domain, a change in levels (0 = considered, no change), why."""

    domain: str
    change: int
    reason: str
    override: bool = False

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise InputError(f"unknown certainty domain {self.domain!r}; use one of "
                             f"{', '.join(DOMAINS)}")
        if not self.reason or not self.reason.strip():
            raise InputError(f"a certainty step ({self.domain}) needs a reason")


@dataclass(frozen=True)
class CertaintyRating:
    """GRADE-style rating of one question's body of evidence.

    Attributes
    ----------
    question, title
        The question's id and title.
    start, level
        Starting level (from the study designs) and final level, both in :data:`CERTAINTY_LEVELS`.
    steps
        Every move from start to level, in order, each with its reason.
    direction
        ``benefit``, ``no-difference``, ``harm``, ``unclear`` or ``no-evidence``.
    synthesis
        How the body was synthesised: ``review-pooled``, ``meta-analysis``, ``single-study``,
        ``vote-counting`` or ``none``.
    main
        The estimate the claim rests on (``None`` without one).
    items
        The body of evidence, one item per result.
    notes
        What else a reader should know (double counting avoided, studies left out and why).
    """

    question: str
    title: str
    kind: str
    start: str
    level: str
    steps: tuple[CertaintyStep, ...]
    direction: str
    synthesis: str
    main: EffectSummary | None = None
    items: tuple[EvidenceItem, ...] = ()
    notes: tuple[str, ...] = ()
    votes: Mapping[str, int] = field(default_factory=dict)

    @property
    def index(self) -> int:
        """Strength of the level, 0 (very low) to 3 (high)."""
        return level_index(self.level)

    def used_items(self) -> tuple[EvidenceItem, ...]:
        """Items that inform the direction or size of the effect."""
        return tuple(i for i in self.items if i.role in ("estimate", "direction"))

    def total_n(self) -> int | None:
        """Participants in the body, counting each study once (largest n it reports)."""
        per_study: dict[str, int] = {}
        for item in self.used_items():
            if item.n:
                per_study[item.study] = max(per_study.get(item.study, 0), item.n)
        return sum(per_study.values()) if per_study else None

    def n_complete(self) -> bool:
        """True when every study in the body reports its number of participants."""
        used = self.used_items()
        return bool(used) and all(
            any(i.n for i in used if i.study == s) for s in {i.study for i in used})

    def reasons(self) -> list[str]:
        """The steps as short strings, e.g. ``'imprecision -1: ...'``."""
        return [f"{s.domain} {s.change:+d}{' (override)' if s.override else ''}: {s.reason}"
                for s in self.steps]

    def summary(self) -> str:
        """A few lines for people."""
        lines = [f"{self.question}: {self.level} (start {self.start}; direction {self.direction}; "
                 f"synthesis {self.synthesis})"]
        if self.main is not None:
            m = self.main
            shown = estimate_text(m.estimate, m.ci_low, m.ci_high, measure=m.measure,
                                  digits="g", ci_label="")
            lines.append(f"  main estimate: {shown} [{m.source}; {', '.join(m.records)}]")
        lines += [f"  {r}" for r in self.reasons()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_frame(self):
        """One row per step: domain, change, reason, override (plus the question and level)."""
        import pandas as pd

        rows = [{"question": self.question, "domain": "start", "change": 0,
                 "reason": f"start at {self.start}", "override": False, "level": self.level}]
        rows += [{"question": self.question, "domain": s.domain, "change": s.change,
                  "reason": s.reason, "override": s.override, "level": self.level}
                 for s in self.steps]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "start": self.start, "level": self.level,
            "direction": self.direction, "synthesis": self.synthesis,
            "steps": [{"domain": s.domain, "change": s.change, "reason": s.reason,
                       "override": s.override} for s in self.steps],
            "main": None if self.main is None else self.main._asdict(),
            "notes": list(self.notes),
        }
