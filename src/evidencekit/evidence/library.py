"""The :class:`Library`: an evidence folder's validated records, with lookups and pandas views.

An evidence folder holds::

    references.bib        one BibTeX entry per study (key = study id)
    review.yaml           the review's settings (:mod:`evidencekit.settings`)
    studies/<id>.yaml     one typed study record per paper (see :mod:`evidencekit.evidence.records`)
    questions.yaml        the review questions: a top-level ``questions:`` list (optional)

:func:`evidencekit.load_library` (:mod:`evidencekit.validation`) reads and checks the folder and
returns a frozen :class:`Library`; :func:`study_to_yaml` and :func:`write_json_schema` write a
record's file form. Reading is in :mod:`~evidencekit.evidence.scan` and
:mod:`~evidencekit.evidence.reading`, the checks in :mod:`~evidencekit.evidence.checks`.
"""
from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from ..errors import Message
from ..settings import ReviewSettings
from . import records
from .references import Reference
from .records import ArmSummaryResult, EffectEstimate, Question, Study

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Library", "write_json_schema", "study_to_yaml"]

_Record = TypeVar("_Record")


@dataclass(frozen=True, repr=False)
class Library:
    """The typed, cross-checked evidence: studies, questions and references.

    Made by :func:`evidencekit.load_library`; every record in it has passed validation.

    Attributes
    ----------
    root
        The evidence folder (absolute).
    studies
        :class:`~evidencekit.evidence.records.Study` by BibTeX key, sorted by key.
    questions
        :class:`~evidencekit.evidence.records.Question` by id, in the order of questions.yaml (empty when
        there is no questions.yaml).
    references
        :class:`~evidencekit.evidence.references.Reference` by key, in the order of references.bib.
    warnings
        The validation warnings (suspicious but possible values), for display.

    Notes
    -----
    The mappings are read-only views (``types.MappingProxyType``) and the records are frozen, so
    one notebook cell cannot change the evidence another cell relies on.

    Examples
    --------
    >>> lib = load_library("evidence")                       # doctest: +SKIP
    >>> lib.study("sterling2015").result("ndi-md-6mo").ci_low  # doctest: +SKIP
    -9.6
    >>> lib.results_frame().query("kind == 'effect-estimate'")  # doctest: +SKIP
    """

    root: Path
    studies: Mapping[str, Study]
    questions: Mapping[str, Question]
    references: Mapping[str, Reference]
    warnings: tuple[Message, ...] = field(default=(), compare=False)
    #: The review's settings (review.yaml); None for a folder without one (validate warns).
    settings: ReviewSettings | None = None

    def __post_init__(self) -> None:
        # Read-only views: a notebook cell cannot change the evidence other cells rely on.
        for name in ("studies", "questions", "references"):
            object.__setattr__(self, name, types.MappingProxyType(dict(getattr(self, name))))

    def __repr__(self) -> str:
        return (f"Library(root={str(self.root)!r}, studies={len(self.studies)}, "
                f"questions={len(self.questions)}, references={len(self.references)})")

    # lookups ------------------------------------------------------------------------------

    def study(self, key: str) -> Study:
        """The study with BibTeX key ``key``; ``KeyError`` names the closest key."""
        return _lookup(self.studies, key, "study")

    def question(self, qid: str) -> Question:
        """The question with id ``qid``."""
        return _lookup(self.questions, qid, "question")

    def reference(self, key: str) -> Reference:
        """The BibTeX reference with key ``key``."""
        return _lookup(self.references, key, "reference")

    def summary(self) -> str:
        designs: dict[str, int] = {}
        for s in self.studies.values():
            designs[s.design] = designs.get(s.design, 0) + 1
        parts = ", ".join(f"{n} {d}" for d, n in sorted(designs.items()))
        return (f"{len(self.studies)} studies ({parts}); {len(self.questions)} questions; "
                f"{len(self.references)} references; from {self.root}")

    # pandas views ---------------------------------------------------------------------------

    def studies_frame(self) -> "pd.DataFrame":
        """One row per study, indexed by ``key``.

        Columns: short_title, citation, year, design, randomised, n, population, condition,
        characteristics, arms, outcomes, results, follow_up, risk_of_bias, funding, conflicts,
        links, caveats.
        """
        import pandas as pd

        rows = []
        for key, s in self.studies.items():
            ref = self.references.get(key)
            rows.append({
                "key": key,
                "short_title": s.short_title,
                "citation": ref.short_citation() if ref else None,
                "year": ref.year if ref else None,
                "design": s.design,
                "randomised": s.randomised,
                "n": s.population.n,
                "population": s.population.description,
                "condition": s.population.condition,
                "characteristics": "; ".join(f"{k}: {v}" for k, v in
                                             s.population.characteristics.items()) or None,
                "arms": len(s.arms),
                "outcomes": len(s.outcomes),
                "results": len(s.results),
                "follow_up": s.follow_up,
                "risk_of_bias": s.risk_of_bias.overall,
                "funding": s.funding,
                "conflicts": s.conflicts,
                "links": "; ".join(f"{ln.relation} {ln.target}" for ln in s.links) or None,
                "caveats": len(s.caveats),
            })
        columns = ["key", "short_title", "citation", "year", "design", "randomised", "n",
                   "population", "condition", "characteristics", "arms", "outcomes", "results",
                   "follow_up", "risk_of_bias", "funding", "conflicts", "links", "caveats"]
        frame = pd.DataFrame(rows, columns=columns)
        for col in ("n", "year"):
            frame[col] = frame[col].astype("Int64")
        return frame.set_index("key")

    def outcomes_frame(self) -> "pd.DataFrame":
        """One row per (study, outcome): domain, instrument, scale, better, time_points, results."""
        import pandas as pd

        rows = []
        for key, s in self.studies.items():
            for o in s.outcomes:
                rows.append({
                    "study": key, "outcome": o.id, "domain": o.domain, "instrument": o.instrument,
                    "scale": o.scale, "better": o.better,
                    "time_points": "; ".join(o.time_points) or None,
                    "results": sum(1 for r in s.results if r.outcome == o.id),
                })
        return pd.DataFrame(rows, columns=["study", "outcome", "domain", "instrument", "scale",
                                           "better", "time_points", "results"])

    def results_frame(self) -> "pd.DataFrame":
        """One row per result, in every reported form.

        Columns common to all kinds (study, result, kind, outcome, domain, time_point, contrast,
        comparison, direction, clinically_important, source, quote, secondary, inferred) and the
        kind-specific ones, empty where they do not apply: measure, estimate, ci_low, ci_high,
        ci_level, se, p_value, p_relation, k_studies, n_participants, arms (number of arm summaries),
        ci_asymmetry (share of the CI width), statement.
        """
        import pandas as pd

        rows = []
        for key, s in self.studies.items():
            domains = {o.id: o.domain for o in s.outcomes}
            for r in s.results:
                row: dict[str, Any] = {
                    "study": key, "result": r.id, "kind": r.kind, "outcome": r.outcome,
                    "domain": domains.get(r.outcome), "time_point": r.time_point,
                    "contrast": r.contrast, "comparison": r.comparison, "direction": r.direction,
                    "clinically_important": r.clinically_important,
                    "measure": None, "estimate": None, "ci_low": None, "ci_high": None,
                    "ci_level": None, "se": None, "p_value": None, "p_relation": None,
                    "k_studies": None, "n_participants": None, "arms": None,
                    "ci_asymmetry": None, "statement": getattr(r, "statement", None),
                    "source": r.provenance.source, "quote": r.provenance.quote,
                    "secondary": r.provenance.secondary,
                    "inferred": r.provenance.inference is not None,
                }
                if isinstance(r, EffectEstimate):
                    row.update(measure=r.measure, estimate=r.estimate, ci_low=r.ci_low,
                               ci_high=r.ci_high, ci_level=r.ci_level, se=r.se,
                               p_value=r.p_value, k_studies=r.k_studies,
                               n_participants=r.n_participants, ci_asymmetry=r.ci_asymmetry())
                elif isinstance(r, records.PValueResult):
                    row.update(p_value=r.p_value, p_relation=r.p_relation)
                elif isinstance(r, ArmSummaryResult):
                    row.update(arms=len(r.arms))
                rows.append(row)
        columns = ["study", "result", "kind", "outcome", "domain", "time_point", "contrast",
                   "comparison", "direction", "clinically_important", "measure", "estimate",
                   "ci_low", "ci_high", "ci_level", "se", "p_value", "p_relation", "k_studies",
                   "n_participants", "arms", "ci_asymmetry", "statement", "source", "quote",
                   "secondary", "inferred"]
        frame = pd.DataFrame(rows, columns=columns)
        for col in ("estimate", "ci_low", "ci_high", "ci_level", "se", "p_value", "ci_asymmetry"):
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        for col in ("k_studies", "n_participants", "arms"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def arm_summaries_frame(self) -> "pd.DataFrame":
        """One row per arm summary (arm-summary results): the inputs of MD/SMD effect sizes."""
        import pandas as pd

        rows = []
        for key, s in self.studies.items():
            roles = {a.id: a.role for a in s.arms}
            for r in s.results:
                if not isinstance(r, ArmSummaryResult):
                    continue
                for a in r.arms:
                    rows.append({
                        "study": key, "result": r.id, "outcome": r.outcome,
                        "time_point": r.time_point, "arm": a.arm, "role": roles.get(a.arm),
                        "mean": a.mean, "sd": a.sd, "n": a.n, "baseline_mean": a.baseline_mean,
                        "baseline_sd": a.baseline_sd, "sd_imputed": a.sd_imputed,
                    })
        frame = pd.DataFrame(rows, columns=["study", "result", "outcome", "time_point", "arm",
                                            "role", "mean", "sd", "n", "baseline_mean",
                                            "baseline_sd", "sd_imputed"])
        for col in ("mean", "sd", "baseline_mean", "baseline_sd"):
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        frame["n"] = frame["n"].astype("Int64")
        return frame

    def questions_frame(self) -> "pd.DataFrame":
        """One row per question, indexed by ``question``, in file order."""
        import pandas as pd

        rows = []
        for qid, q in self.questions.items():
            ie = q.important_effect
            rows.append({
                "question": qid, "title": q.title, "kind": q.kind, "population": q.population,
                "intervention": q.intervention, "comparator": q.comparator, "outcome": q.outcome,
                "outcome_domains": "; ".join(q.outcome_domains) or None,
                "time_window": q.time_window,
                "important_effect": ie.value if ie else None,
                "important_effect_scale": ie.scale if ie else None,
                "studies": len({e.study for e in q.evidence}),
                "study_keys": "; ".join(dict.fromkeys(e.study for e in q.evidence)) or None,
                "topics": "; ".join(q.topics) or None,
            })
        frame = pd.DataFrame(rows, columns=[
            "question", "title", "kind", "population", "intervention", "comparator", "outcome",
            "outcome_domains", "time_window", "important_effect", "important_effect_scale",
            "studies", "study_keys", "topics"])
        frame["important_effect"] = pd.to_numeric(frame["important_effect"]).astype("float64")
        return frame.set_index("question")


def _lookup(mapping: Mapping[str, _Record], key: str, what: str) -> _Record:
    try:
        return mapping[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(mapping), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise KeyError(f"no {what} '{key}'{hint}") from None


def write_json_schema(path: str | Path) -> Path:
    """Write the JSON Schema of a study file (from :func:`records.json_schema`) to ``path``.

    The output is deterministic (fixed key order, two-space indent, final newline), so a test can
    compare the committed ``evidence/study.schema.json`` with a fresh export.
    """
    path = Path(path)
    text = json.dumps(records.json_schema(), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def study_to_yaml(study: Study) -> str:
    """A study record as YAML that :func:`evidencekit.load_library` reads back to an equal record.

    Fields left at their defaults are omitted, so the output is as short as a hand-written file.
    """
    data = study.model_dump(mode="json", exclude_defaults=True)
    _restore_kinds(study, data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _restore_kinds(study: Study, data: dict) -> None:
    # `kind` has a default on each result class, so exclude_defaults drops it; the discriminated
    # union needs it back to know which kind each result is.
    for r, d in zip(study.results, data.get("results", [])):
        d_ordered = {"kind": r.kind, **d}
        d.clear()
        d.update(d_ordered)
