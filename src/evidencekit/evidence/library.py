"""Load and cross-check the evidence folder; pandas views for the notebooks.

An evidence folder holds::

    references.bib        one BibTeX entry per study (key = study id)
    studies/<id>.yaml     one typed study record per paper (see :mod:`evidencekit.evidence.records`)
    questions.yaml        the review questions: a top-level ``questions:`` list (optional)

:func:`validate_evidence` reads all of it and reports every problem as an
:class:`~evidencekit.errors.Message` naming the file, the line, the field path and what to do.
:func:`load_library` returns the typed records as a frozen :class:`Library`, or raises
:class:`~evidencekit.errors.InputError` when validation finds errors.

Safety: YAML is only ever composed and constructed with PyYAML's ``SafeLoader``, and any explicit tag
outside the plain-data set (``!!python/object/apply`` and the like) is refused before construction, so
reading an evidence file never runs code. Files are opened read-only; nothing here writes to the
evidence folder (:func:`write_json_schema` writes only the path it is given).
"""
from __future__ import annotations

import datetime
import difflib
import json
import re
import shlex
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .. import io as _io
from . import records
from . import yamlsafe
from .bibliography import Reference, parse_bibtex
from ..errors import InputError, Message, printable
from .records import (
    ArmEventsResult, ArmSummaryResult, EffectEstimate, NarrativeResult, PValueResult, Question,
    Study,
)
from ..settings import SETTINGS_FILE, ReviewSettings

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Library", "ValidationReport", "load_library", "validate_evidence", "write_json_schema",
    "study_to_yaml", "MAX_FILE_BYTES", "MAX_YAML_NODES",
]

#: Largest evidence file read. A study file is a few kilobytes and a review's references.bib rarely
#: passes a few hundred; anything near this size is the wrong file, and PyYAML (pure Python) would
#: take minutes on it.
MAX_FILE_BYTES = _io.MAX_EVIDENCE_BYTES

#: Largest YAML document, in nodes after expanding aliases. YAML aliases can nest to an exponential
#: size (the "billion laughs" file); validation walks every value, so the expanded size is capped.
MAX_YAML_NODES = 200_000

# The tags a plain-data YAML file resolves to. An explicit tag outside this set (e.g.
# !!python/object/apply:os.system) is refused before anything is constructed.
_SAFE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge"))

# Common names people type for a field, mapped to the field evidencekit uses; difflib cannot see
# that "standard_deviation" means "sd".
_SYNONYMS = {
    "standard_deviation": "sd", "std": "sd", "stdev": "sd", "std_dev": "sd", "sd_": "sd",
    "p": "p_value", "pvalue": "p_value", "p_val": "p_value", "sample_size": "n", "n_total": "n",
    "lower": "ci_low", "upper": "ci_high", "lci": "ci_low", "uci": "ci_high",
    "ci_lower": "ci_low", "ci_upper": "ci_high", "type": "kind", "key": "id", "title": "short_title",
    "followup": "follow_up", "rob": "risk_of_bias", "effect": "estimate", "value": "estimate",
}

STUDY_FILE_SUFFIX = ".yaml"

# libyaml's safe loader where present (about 20x faster; same safe constructor, same line marks),
# else PyYAML's pure-Python SafeLoader. Never the full Loader.
# Its YAML 1.2 resolvers read `040`, `1:30`, `yes` and `1e5` as YAML 1.2 does, or refuse them
# (see :mod:`evidencekit.evidence.yamlsafe`).
_SafeLoader = yamlsafe.Loader


# ----------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_evidence` found. ``ok`` is true when there are no errors.

    Attributes
    ----------
    root
        The evidence folder as given.
    studies
        Number of study files that validated.
    study_ids
        Their ids, sorted.
    numbers
        Numeric values in the study records (population and arm n's, means, SDs, estimates, CI
        limits, p-values, k, ...), counting only values present in the files.
    numbers_with_provenance
        Those that sit in an object whose provenance (its own, or its result's, arm's or
        population's) is set.
    errors, warnings
        :class:`~evidencekit.errors.Message` tuples, sorted by file and line.
    questions, references
        Questions and BibTeX entries read.
    """

    root: str
    studies: int
    study_ids: tuple[str, ...]
    numbers: int
    numbers_with_provenance: int
    errors: tuple[Message, ...]
    warnings: tuple[Message, ...]
    questions: int = 0
    references: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        """The ``validate --format json`` contract (DESIGN.md)."""
        return {
            "ok": self.ok,
            "evidence_dir": self.root,
            "studies": self.studies,
            "study_ids": list(self.study_ids),
            "questions": self.questions,
            "references": self.references,
            "numbers": self.numbers,
            "numbers_with_provenance": self.numbers_with_provenance,
            "errors": [m.to_dict() for m in self.errors],
            "warnings": [m.to_dict() for m in self.warnings],
        }

    def to_frame(self) -> "pd.DataFrame":
        """One row per message: severity, file, line, field, message."""
        import pandas as pd

        rows = [{"severity": m.severity, "file": m.file, "line": m.line, "field": m.field,
                 "message": m.message} for m in (*self.errors, *self.warnings)]
        frame = pd.DataFrame(rows, columns=["severity", "file", "line", "field", "message"])
        frame["line"] = frame["line"].astype("Int64")
        return frame

    def summary(self) -> str:
        """Text for people: counts, then each error and warning as ``file:line [field]: ...``."""
        lines = [
            f"evidence folder: {printable(self.root)}",
            f"studies: {self.studies}   questions: {self.questions}   "
            f"references: {self.references}",
            f"numbers: {self.numbers}   with provenance: {self.numbers_with_provenance}",
        ]
        if self.errors:
            lines.append(f"\nerrors ({len(self.errors)}):")
            lines.extend(f"  {m}" for m in self.errors)
        if self.warnings:
            lines.append(f"\nwarnings ({len(self.warnings)}):")
            lines.extend(f"  {m}" for m in self.warnings)
        if self.ok:
            lines.append(f"\nOK: no errors ({len(self.warnings)} warning(s)).")
        else:
            lines.append(f"\nFAILED: {len(self.errors)} error(s). Fix them (each names the file, "
                         "line and field) and run `evidencekit validate` again.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, repr=False)
class Library:
    """The typed, cross-checked evidence: studies, questions and references.

    Made by :func:`load_library`; every record in it has passed validation.

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
        :class:`~evidencekit.evidence.bibliography.Reference` by key, in the order of references.bib.
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


def _lookup(mapping: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return mapping[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(mapping), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise KeyError(f"no {what} '{key}'{hint}") from None


# ----------------------------------------------------------------------------------------------
# reading files safely


class _Collector:
    """Collects messages for one validation run."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def error(self, file: str | None, line: int | None, fieldpath: str | None, msg: str) -> None:
        self.messages.append(Message(file, line, fieldpath or None, msg))

    def warning(self, file: str | None, line: int | None, fieldpath: str | None, msg: str) -> None:
        self.messages.append(Message(file, line, fieldpath or None, msg, severity="warning"))


def _show(path: Path) -> str:
    return path.as_posix()


def _read_text(path: Path, out: _Collector) -> str | None:
    """The file's text, or ``None`` after reporting why it cannot be used (see :mod:`.io`)."""
    try:
        got = _io.read_bytes(path, limit=MAX_FILE_BYTES, kind="evidence file")
        text = _io.decode_text(got.data, got.shown, kind="evidence file")
    except InputError as exc:
        out.error(exc.file, exc.line, exc.field, exc.message)
        return None
    if got.symlink:
        # Followed, but said: a link can make the folder read a file that lives elsewhere.
        out.warning(got.shown, None, None, f"is a symlink; read from {got.resolved}. Copy the file "
                                           "into the evidence folder if it belongs to this review")
    return text


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    mark = problem or context
    line = mark.line + 1 if mark is not None else None
    parts = [p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p]
    what = "; ".join(parts) if parts else str(exc).splitlines()[0]
    if problem is not None and context is not None and context.line != problem.line:
        # An unclosed quote or bracket is found only where the parser gives up; where the
        # enclosing part started is usually nearer the typo.
        what += f" (in the part that starts on line {context.line + 1})"
    return line, what


class _TooBig(Exception):
    pass


class _Cycle(Exception):
    pass


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _check_nodes(node: yaml.Node, shown: str, out: _Collector) -> bool:
    """Refuse unsafe tags, duplicate keys, cyclic aliases and alias bombs. True when usable.

    Works on the composed node graph, before anything is constructed, so a refused tag never
    reaches a constructor.
    """
    ok = True
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(n: yaml.Node, path: str) -> int:
        nonlocal ok
        ident = id(n)
        if ident in sizes:
            return sizes[ident]
        if ident in on_path:
            raise _Cycle(n, path)
        on_path.add(ident)
        if n.tag not in _SAFE_TAGS:
            ok = False
            out.error(shown, n.start_mark.line + 1, path or None,
                      f"the YAML tag '{n.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed: "
                      "evidence files hold plain data (text, numbers, true/false, null, lists, "
                      "mappings); remove the tag")
        size = 1
        if isinstance(n, yaml.ScalarNode):
            problem = yamlsafe.scalar_problem(n)
            if problem:
                ok = False
                out.error(shown, n.start_mark.line + 1, path or None, problem)
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in n.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:merge":
                    # YAML 1.2 has no merge keys, and a merged key silently loses to a local one.
                    ok = False
                    out.error(shown, key.start_mark.line + 1, path or None,
                              "merge keys ('<<: *name') are not allowed: they hide which value a "
                              "key has, and YAML 1.2 has none; write the keys out")
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        ok = False
                        out.error(shown, key.start_mark.line + 1, _join(path, name),
                                  f"key '{key.value}' appears twice in this mapping (first on "
                                  f"line {seen[key.value]}); YAML would silently keep only the "
                                  "last value: delete one")
                    else:
                        seen[key.value] = key.start_mark.line + 1
                size += visit(key, path) + visit(value, _join(path, name))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                size += visit(item, _join(path, i))
        if size > MAX_YAML_NODES:
            raise _TooBig()
        on_path.discard(ident)
        sizes[ident] = size
        return size

    try:
        visit(node, "")
    except _Cycle as exc:
        cyclic, path = exc.args
        out.error(shown, cyclic.start_mark.line + 1, path or None,
                  "an alias (*name) refers to the mapping or list that contains it; write the "
                  "values out instead of the self-reference")
        return False
    except _TooBig:
        out.error(shown, None, None, f"the YAML expands (through its aliases) to more than "
                                     f"{MAX_YAML_NODES:,} values; write values out instead of "
                                     "nesting aliases")
        return False
    return ok


def _load_yaml(path: Path, out: _Collector) -> tuple[yaml.Node, Any] | None:
    """Compose (for line numbers) and construct (for values) one YAML document, safely."""
    shown = _show(path)
    text = _read_text(path, out)
    if text is None:
        return None
    if not text.strip():
        out.error(shown, None, None, "file is empty; fill it in (evidence/README.md shows a "
                                     "complete example) or delete it")
        return None
    hidden = yamlsafe.invisible_characters(text)
    if hidden:
        for ch in hidden:
            out.error(shown, ch.line, None, ch.message)
        return None
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            out.error(shown, None, None, "file has no YAML content (only comments or '---'); fill "
                                         "it in or delete it")
            return None
        if not _check_nodes(node, shown, out):
            return None
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line, what = _yaml_problem(exc)
        out.error(shown, line, None, f"YAML syntax error: {what}. Check the indentation (spaces, "
                                     "not tabs), the ':' after each key, and quote text that "
                                     "contains ': ' or starts with a special character")
        return None
    except yaml.reader.ReaderError as exc:
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        char = getattr(exc, "character", None)
        code = char if isinstance(char, int) else (ord(char) if isinstance(char, str) and char
                                                   else None)
        name = f" U+{code:04X}" if code is not None else ""
        out.error(shown, line, None, f"YAML cannot contain the control character{name}; delete "
                                     "it (it is often pasted in from a PDF or a web page)")
        return None
    except yaml.YAMLError as exc:
        out.error(shown, None, None, f"YAML error: {exc}; check the file's syntax")
        return None
    except RecursionError:
        out.error(shown, None, None, "the YAML is nested too deeply to read; an evidence file "
                                     "needs only a few levels of indentation")
        return None
    finally:
        loader.dispose()
    return node, data


# ----------------------------------------------------------------------------------------------
# pydantic error locations -> field path and YAML line


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional; a union of several models comes back as a tuple of them."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = tuple(a for a in get_args(tp) if a is not type(None))
            if len(args) == 1:
                tp = args[0]
                continue
            return args
        return tp


def _union_tags(tp: Any) -> dict[str, type[BaseModel]]:
    if not isinstance(tp, tuple):
        return {}
    tags = {}
    for member in tp:
        if isinstance(member, type) and issubclass(member, BaseModel) and "kind" in member.model_fields:
            tags[member.model_fields["kind"].default] = member
    return tags


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


@dataclass
class _Where:
    line: int | None
    path: str
    model: type[BaseModel] | None  # the model at the end of the path (None when unknown)
    node: yaml.Node | None


def _locate(root_model: type[BaseModel], root: yaml.Node, loc: tuple) -> _Where:
    """Follow a pydantic error location through the model types and the YAML nodes at once."""
    tp: Any = root_model
    node: yaml.Node | None = root
    line: int | None = root.start_mark.line + 1
    parts: list[str] = []
    for elem in loc:
        current = _unwrap(tp)
        tags = _union_tags(current)
        if isinstance(elem, str) and elem in tags:
            # pydantic puts the discriminator value in the location; it is not a YAML key.
            tp = tags[elem]
            continue
        if isinstance(elem, int) and not isinstance(node, yaml.MappingNode):
            parts.append(f"[{elem}]")
            tp = None
            if get_origin(current) in (tuple, list):
                args = get_args(current)
                tp = args[0] if args else None
            if isinstance(node, yaml.SequenceNode) and 0 <= elem < len(node.value):
                node = node.value[elem]
                line = node.start_mark.line + 1
            else:
                node = None
            continue
        # A mapping key that YAML read as a number or null (`1: x`, `null: x`) arrives as such.
        name = "null" if elem is None else str(elem)
        parts.append(("." if parts else "") + name)
        tp = current.model_fields[name].annotation if (
            _is_model(current) and name in current.model_fields) else None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == name:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                node = None
        else:
            node = None
    end = _unwrap(tp)
    return _Where(line, "".join(parts), end if _is_model(end) else None, node)


def _parent_model(root_model: type[BaseModel], root: yaml.Node, loc: tuple) -> type[BaseModel] | None:
    return _locate(root_model, root, loc[:-1]).model if loc else root_model


def _suggest(name: str, valid: list[str]) -> str | None:
    normal = re.sub(r"[\s-]+", "_", name.strip().lower())
    if normal in valid and normal != name:
        return normal
    if normal in _SYNONYMS and _SYNONYMS[normal] in valid:
        return _SYNONYMS[normal]
    close = difflib.get_close_matches(normal, valid, n=1, cutoff=0.6)
    return close[0] if close else None


def _short(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # YAML made a date of an unquoted 2021-03-01
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]  # as written in YAML
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# What to do about the records' validator messages that do not say it themselves.
_VALUE_ERROR_FIXES = (
    ("needs a provenance", "add provenance: with source (address or table/page) and a short "
                           "verbatim quote"),
    ("exceeds n_randomised", "check the source: no more people can be analysed than randomised"),
    ("refers to outcome", "use one of the outcome ids, or add the outcome"),
    ("refers to arm", "use one of the arm ids, or add the arm"),
    ("duplicate", "give each its own id"),
    ("randomised is true", "set randomised: false, or correct the design"),
)


def _kind_of(value: Any) -> str:
    """A value's YAML type in words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _describe(err: dict, root_model: type[BaseModel], root: yaml.Node) -> str:
    """A pydantic error as a sentence that says what is wrong and what to do."""
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc and isinstance(loc[-1], str) else None
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = _parent_model(root_model, root, loc)
        valid = sorted(parent.model_fields) if parent else []
        best = _suggest(name or "", valid)
        if best:
            return f"unknown field '{name}'; did you mean '{best}'? (rename it)"
        return (f"unknown field '{name}'; fields allowed here: {', '.join(valid)}"
                if valid else f"unknown field '{name}'; remove it")
    if kind == "invalid_key":
        return (f"the key {_short(value)} is not a field name; field names are words such as "
                "'notes' (quote the key if it must be a number)")
    if kind == "missing":
        return (f"required field '{name}' is missing; add it (evidence/README.md describes each "
                "field)")
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        best = _suggest(str(value), expected) if isinstance(value, str) else None
        hint = f"; did you mean '{best}'?" if best else ""
        return f"{_short(value)} is not allowed here; use one of: {', '.join(expected)}{hint}"
    if kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        best = _suggest(str(tag), expected)
        hint = f"; did you mean '{best}'?" if best else ""
        return f"kind {tag!r} is not a result kind; use one of: {', '.join(expected)}{hint}"
    if kind == "union_tag_not_found":
        return ("this result has no 'kind'; add kind: arm-summary, effect-estimate, p-value or "
                "narrative")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": f"greater than {ctx.get('gt')}",
                 "greater_than_equal": f"at least {ctx.get('ge')}",
                 "less_than": f"less than {ctx.get('lt')}",
                 "less_than_equal": f"at most {ctx.get('le')}"}[kind]
        fix = "check the source and correct the value"
        if name in ("sd", "baseline_sd", "se"):
            fix = ("an SD or SE must be positive; if the source does not give it, write null "
                   "and add a not_reported entry")
        elif name and (name == "n" or name.startswith("n_") or name == "k_studies"):
            fix = "a count must be positive; write null if the source does not give it"
        elif name == "ci_level":
            fix = "write the level as a fraction, e.g. 0.95 for a 95% CI"
        elif name == "p_value":
            fix = ("a p-value lies between 0 and 1; for 'P < 0.05' write p_value: 0.05 with "
                   "p_relation: '<'")
        return f"must be {bound} (got {_short(value)}); {fix}"
    if kind == "finite_number":
        return (f"must be a finite number (got {_short(value)}); write null when the source does "
                "not report the value")
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        whole = "a whole number" if kind.startswith("int") else "a number"
        return (f"should be {whole} (got {_short(value)}); write the number alone (e.g. 4.2, no "
                "units or '%'), or null when not reported")
    if kind in ("string_type",):
        return (f"should be text (got {_kind_of(value)} {_short(value)}); put it in quotes, "
                "e.g. \"2015-03-01\" or \"yes\"")
    if kind == "string_too_short":
        return (f"is too short (got {_short(value)}); write at least {ctx.get('min_length')} "
                "characters")
    if kind == "string_pattern_mismatch":
        return (f"{_short(value)} is not a valid id; use lower-case letters, digits and hyphens, "
                "e.g. 'pain-6-months'")
    if kind in ("bool_type", "bool_parsing"):
        return f"should be true or false (got {_short(value)})"
    if kind in ("tuple_type", "list_type"):
        return f"should be a list (lines starting with '- '), got {_short(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (f"should be a mapping of fields ('key: value' lines, indented under it), got "
                f"{_short(value)}")
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s); add them"
    if kind == "recursion_loop":
        return "refers to itself through a YAML alias; write the values out"
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        if ";" in msg:  # the record's own message already says what to do
            return msg
        for pattern, fix in _VALUE_ERROR_FIXES:
            if pattern in msg:
                return f"{msg}; {fix}"
        return f"{msg}; check the source and correct the value"
    return f"{err['msg']} (got {_short(value)})"


# Study-level validator messages name an id but carry no location; find the field they mean.
_STUDY_REFINEMENTS = (
    (re.compile(r"result '([^']+)' refers to outcome"), "outcome"),
    (re.compile(r"result '([^']+)' refers to arm '([^']+)'"), "arm"),
)


def _refine_study_error(msg: str, data: Any) -> tuple:
    """Location of a Study-level validator error, from the ids its message names."""
    if not isinstance(data, dict):
        return ()
    results = data.get("results") if isinstance(data.get("results"), list) else []
    for pattern, target in _STUDY_REFINEMENTS:
        match = pattern.search(msg)
        if not match:
            continue
        for i, r in enumerate(results):
            if isinstance(r, dict) and r.get("id") == match.group(1):
                if target == "outcome":
                    return ("results", i, "outcome")
                for j, a in enumerate(r.get("arms") or []):
                    if isinstance(a, dict) and a.get("arm") == match.group(2):
                        return ("results", i, "arms", j, "arm")
                return ("results", i)
    if msg.startswith("randomised is true"):
        return ("randomised",)
    match = re.match(r"duplicate (arm|outcome|result) id", msg)
    if match:
        return ({"arm": "arms", "outcome": "outcomes", "result": "results"}[match.group(1)],)
    return ()


def _validate_model(model: type[BaseModel], data: Any, node: yaml.Node, shown: str,
                    out: _Collector) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        located = [tuple(e["loc"]) for e in errors]
        for err, loc in zip(errors, located):
            # pydantic adds "needs at least one item" to a list whose items all failed; the item
            # errors already say what is wrong.
            if err["type"] == "too_short" and any(
                    other[:len(loc)] == loc and len(other) > len(loc) for other in located):
                continue
            text = _describe(err, model, node)
            if not loc and model is Study:
                loc = _refine_study_error(str((err.get("ctx") or {}).get("error", "")), data)
            where = _locate(model, node, loc)
            out.error(shown, where.line, where.path or None, text)
        return None


# ----------------------------------------------------------------------------------------------
# counting numbers and their provenance


def _count_numbers(obj: Any, sourced: bool = False) -> tuple[int, int]:
    """(numbers, numbers with provenance) in a record tree, counting values given in the files."""
    if isinstance(obj, BaseModel):
        own = getattr(obj, "provenance", None) if "provenance" in type(obj).model_fields else None
        sourced = sourced or own is not None
        total = with_source = 0
        for name in sorted(obj.model_fields_set):
            if name == "provenance":
                continue
            t, w = _count_numbers(getattr(obj, name), sourced)
            total += t
            with_source += w
        return total, with_source
    if isinstance(obj, (tuple, list)):
        total = with_source = 0
        for item in obj:
            t, w = _count_numbers(item, sourced)
            total += t
            with_source += w
        return total, with_source
    if isinstance(obj, bool) or obj is None:
        return 0, 0
    if isinstance(obj, (int, float)):
        return 1, int(sourced)
    return 0, 0


# ----------------------------------------------------------------------------------------------
# the scan shared by validate_evidence and load_library


class _QuestionsFile(BaseModel):
    """Shape of questions.yaml: a top-level ``questions:`` list."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    questions: tuple[Question, ...]


@dataclass
class _Scan:
    root: Path
    studies: dict[str, Study] = field(default_factory=dict)
    study_nodes: dict[str, tuple[str, yaml.Node]] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    question_index: dict[str, int] = field(default_factory=dict)  # position in questions.yaml
    references: dict[str, Reference] = field(default_factory=dict)
    numbers: int = 0
    numbers_with_provenance: int = 0
    bib_read: bool = False  # references.bib was read and parsed (errors inside it allowed)
    bib_broken_keys: set[str] = field(default_factory=set)  # entries present but unreadable
    studies_listed: bool = False  # studies/ holds study files (some may be broken)
    study_stems: set[str] = field(default_factory=set)  # every study-like file name, even broken
    settings: ReviewSettings | None = None
    settings_node: yaml.Node | None = None
    out: _Collector = field(default_factory=_Collector)


def _check_root(path: Path) -> None:
    shown = _show(path)
    if not path.exists():
        raise InputError("evidence folder not found; give the folder that holds references.bib "
                         "and studies/ with --evidence DIR (the default is ./evidence, in the "
                         "folder you run the command from)", file=shown)
    if not path.is_dir():
        raise InputError("is not a folder; give the evidence folder that holds references.bib "
                         "and studies/", file=shown)
    try:
        next(iter(path.iterdir()), None)
    except OSError as exc:
        raise InputError(f"evidence folder cannot be read ({exc.strerror or exc}); check its "
                         "permissions", file=shown) from None


def _study_files(root: Path, out: _Collector, new_review: bool = False
                 ) -> tuple[list[Path], set[str]] | None:
    """The ``<key>.yaml`` files to read, and the stems of every study-like file (even misnamed).

    ``None`` when there is nothing to read (no folder, unreadable, or no study files), after
    reporting it.
    """
    folder = root / "studies"
    if not folder.is_dir():
        out.error(_show(folder), None, None, "no studies/ folder; create it and add one "
                                             "<key>.yaml file per study (see evidence/README.md)")
        return None
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        out.error(_show(folder), None, None, f"cannot be read ({exc.strerror or exc}); check its "
                                             "permissions")
        return None
    files: list[Path] = []
    stems: set[str] = set()
    for p in entries:
        if p.name.startswith(".") or p.name.lower().startswith("readme"):
            continue
        if p.is_dir():
            out.warning(_show(p), None, None, "folders inside studies/ are not read; move study "
                                              "files up into studies/")
        elif p.suffix == STUDY_FILE_SUFFIX:
            files.append(p)
            stems.add(p.stem)
        elif p.suffix.lower() in (".yml", ".yaml"):
            stems.add(p.stem)
            out.error(_show(p), None, None, f"study files end in '{STUDY_FILE_SUFFIX}'; rename it "
                                            f"to {p.stem}{STUDY_FILE_SUFFIX}")
        else:
            out.warning(_show(p), None, None, "not a study file (only <key>.yaml files are read); "
                                              "move it out of studies/")
    if not stems:
        if new_review:
            # A review just made with `evidencekit new`: nothing to check yet, and nothing wrong.
            out.warning(_show(folder), None, None, "no study files yet; add them with "
                                                   "`evidencekit import` or one <key>.yaml per "
                                                   "study")
            return None
        out.error(_show(folder), None, None, "no study files; add one <key>.yaml file per study "
                                             "(see evidence/README.md)")
        return None
    return files, stems


def _scan(path: str | Path) -> _Scan:
    root = Path(path)
    _check_root(root)
    scan = _Scan(root=root)
    out = scan.out

    # references.bib
    bib_path = root / "references.bib"
    if not bib_path.exists():
        out.error(_show(bib_path), None, None, "references.bib is missing; create it with one "
                                               "BibTeX entry per study (key = study id)")
    else:
        text = _read_text(bib_path, out)
        if text is not None:
            parsed = parse_bibtex(text, file=_show(bib_path))
            out.messages.extend(parsed.messages)
            scan.references = dict(parsed.references)
            scan.bib_broken_keys = set(parsed.broken_keys)
            scan.bib_read = parsed.read

    # review.yaml (the review's settings)
    s_path = root / SETTINGS_FILE
    if not s_path.exists():
        out.warning(_show(s_path), None, None, f"there is no {SETTINGS_FILE}; outputs cannot name "
                                               "the intervention, authors or search date. Create "
                                               "it (`evidencekit new` writes one)")
    else:
        loaded = _load_yaml(s_path, out)
        if loaded is not None:
            s_node, s_data = loaded
            if not isinstance(s_data, dict):
                out.error(_show(s_path), s_node.start_mark.line + 1, None,
                          f"{SETTINGS_FILE} is a mapping (intervention: ..., title: ...), not "
                          f"{_kind_of(s_data)}")
            else:
                parsed_s = _validate_model(ReviewSettings, s_data, s_node, _show(s_path), out)
                if parsed_s is not None:
                    scan.settings = parsed_s  # type: ignore[assignment]
                    scan.settings_node = s_node
                    from ..grade.wording import default_templates

                    known = default_templates()
                    for name, text in parsed_s.wording.items():
                        where = _locate(ReviewSettings, s_node, ("wording", name))
                        if name not in known:
                            near = difflib.get_close_matches(name, sorted(known), n=1)
                            out.error(_show(s_path), where.line, f"wording.{name}",
                                      f"unknown wording template '{name}'"
                                      + (f"; did you mean '{near[0]}'?" if near else "")
                                      + " (the templates are in evidencekit/data/wording.yaml)")
                            continue
                        wanted = set(re.findall(r"{(\w+)}", known[name]))
                        extra = set(re.findall(r"{(\w+)}", text)) - wanted - {
                            "intervention", "Intervention"}
                        if extra:
                            out.error(_show(s_path), where.line, f"wording.{name}",
                                      f"placeholder(s) {', '.join(sorted(extra))} are not "
                                      f"available in '{name}'; use "
                                      f"{', '.join(sorted(wanted | {'intervention'}))}")
                    for key in ("search_date", "review_date", "title", "audience", "authors",
                                "conflicts", "contact"):
                        if not getattr(parsed_s, key):
                            out.warning(_show(s_path), _locate(ReviewSettings, s_node,
                                                               (key,)).line, key,
                                        f"{key} not stated; give it when known (patient "
                                        "material shows it as not stated)")

    # studies/*.yaml
    files_by_id: dict[str, Path] = {}
    new_review = (scan.bib_read and not scan.references and not scan.bib_broken_keys
                  and (root / SETTINGS_FILE).is_file())
    listed = _study_files(root, out, new_review)
    study_files: list[Path] = []
    if listed is not None:
        study_files, scan.study_stems = listed
        scan.studies_listed = True
    for file in study_files:
        shown = _show(file)
        loaded = _load_yaml(file, out)
        if loaded is None:
            continue
        node, data = loaded
        if not isinstance(data, dict):
            out.error(shown, node.start_mark.line + 1, None,
                      f"a study file is a mapping of fields (id: ..., design: ...), not "
                      f"{_kind_of(data)}; see evidence/README.md")
            continue
        study = _validate_model(Study, data, node, shown, out)
        if study is None:
            continue
        assert isinstance(study, Study)
        id_line = _locate(Study, node, ("id",)).line
        if study.id != file.stem:
            out.error(shown, id_line, "id", f"id '{study.id}' does not match the file name "
                                            f"'{file.name}'; rename the file to {study.id}.yaml "
                                            "or fix the id (it is the BibTeX key)")
            continue
        if study.id in files_by_id:
            out.error(shown, id_line, "id", f"study id '{study.id}' is also used by "
                                            f"{_show(files_by_id[study.id])}; each study needs its "
                                            "own id")
            continue
        files_by_id[study.id] = file
        scan.studies[study.id] = study
        scan.study_nodes[study.id] = (shown, node)
        total, sourced = _count_numbers(study)
        scan.numbers += total
        scan.numbers_with_provenance += sourced
    scan.studies = dict(sorted(scan.studies.items()))

    # questions.yaml (optional while the questions are being written)
    q_path = root / "questions.yaml"
    q_node: yaml.Node | None = None
    if not q_path.exists():
        out.warning(_show(q_path), None, None, "there is no questions.yaml; claims and certainty "
                                               "need it (a top-level 'questions:' list)")
    else:
        loaded = _load_yaml(q_path, out)
        if loaded is not None:
            q_node, q_data = loaded
            if not isinstance(q_data, dict):
                out.error(_show(q_path), q_node.start_mark.line + 1, None,
                          "questions.yaml is a mapping with one key, 'questions:', holding a list "
                          f"of questions, not {_kind_of(q_data)}")
            else:
                parsed_q = _validate_model(_QuestionsFile, q_data, q_node, _show(q_path), out)
                if parsed_q is not None:
                    for i, q in enumerate(parsed_q.questions):  # type: ignore[attr-defined]
                        if q.id in scan.questions:
                            where = _locate(_QuestionsFile, q_node, ("questions", i, "id"))
                            out.error(_show(q_path), where.line, where.path,
                                      f"question id '{q.id}' is used twice; give each question "
                                      "its own id")
                            continue
                        scan.questions[q.id] = q
                        scan.question_index[q.id] = i

    _cross_check(scan, bib_path, q_path, q_node)
    _check_question_domains(scan, q_node, q_path)
    _check_question_decisions(scan, q_node, q_path)
    _check_data(scan)
    _warn_suspicious(scan)
    return scan


def _cross_check(scan: _Scan, bib_path: Path, q_path: Path, q_node: yaml.Node | None) -> None:
    out = scan.out
    bib_shown = _show(bib_path)
    # A study whose file exists but failed validation already has its own errors; references to
    # it are not reported again as unresolved. Nor are cross-references checked against a
    # references.bib or a studies/ folder that could not be read at all: that one error says it.
    study_files = scan.study_stems
    study_ids = list(scan.studies)
    if scan.bib_read and scan.studies_listed:
        for sid, (shown, node) in scan.study_nodes.items():
            if sid not in scan.references and sid not in scan.bib_broken_keys:
                folded = {k.lower(): k for k in scan.references}
                near = folded.get(sid) or next(iter(difflib.get_close_matches(
                    sid, list(scan.references), n=1)), None)
                hint = f" (references.bib has '{near}': make the keys match)" if near else ""
                out.error(shown, _locate(Study, node, ("id",)).line, "id",
                          f"study '{sid}' has no entry in references.bib{hint}; add "
                          f"@article{{{sid}, ...}} with the paper's details")
        for key, ref in scan.references.items():
            # A study file that failed validation already has its own error; do not add a second.
            if key not in scan.studies and key not in study_files:
                out.error(bib_shown, ref.line, key,
                          f"BibTeX entry '{key}' has no study file; add studies/{key}.yaml (see "
                          "evidence/README.md) or remove the entry")

    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for i, link in enumerate(study.links):
            where = _locate(Study, node, ("links", i, "target"))
            if link.target == sid:
                out.error(shown, where.line, where.path, f"study '{sid}' links to itself; "
                                                         "give the other study's key")
            elif link.target not in scan.studies and link.target not in study_files:
                near = difflib.get_close_matches(link.target, study_ids, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else (
                    "; add that study, or remove the link")
                out.error(shown, where.line, where.path,
                          f"link target '{link.target}' is not a study in this folder{hint}")

    if q_node is not None and scan.studies_listed:
        q_shown = _show(q_path)
        for q in scan.questions.values():
            i = scan.question_index[q.id]
            for j, ev in enumerate(q.evidence):
                if ev.study not in scan.studies:
                    if ev.study in study_files:
                        continue
                    where = _locate(_QuestionsFile, q_node, ("questions", i, "evidence", j,
                                                             "study"))
                    near = difflib.get_close_matches(ev.study, study_ids, n=1)
                    hint = f"; did you mean '{near[0]}'?" if near else "; add the study first"
                    out.error(q_shown, where.line, where.path,
                              f"question '{q.id}' cites study '{ev.study}', which is not in "
                              f"studies/{hint}")
                    continue
                result_ids = [r.id for r in scan.studies[ev.study].results]
                for m, rid in enumerate(ev.results):
                    if rid not in result_ids:
                        where = _locate(_QuestionsFile, q_node, ("questions", i, "evidence", j,
                                                                 "results", m))
                        near = difflib.get_close_matches(rid, result_ids, n=1)
                        hint = (f"; did you mean '{near[0]}'?" if near else
                                f"; its results are: {', '.join(result_ids) or 'none'}")
                        out.error(q_shown, where.line, where.path,
                                  f"study '{ev.study}' has no result '{rid}'{hint}")


def _check_data(scan: _Scan) -> None:
    """Checks of the data against itself: declared vocabularies, arm sizes, typed directions
    against the data, and every number printed in its quote (or marked as inferred)."""
    from .quotes import unprinted_numbers
    from ..stats.synthesis import data_direction, study_effect

    out = scan.out
    settings = scan.settings
    domains = set(settings.outcome_domains) if settings is not None else set(
        records.DEFAULT_OUTCOME_DOMAINS)
    declared = set(settings.characteristics) if settings is not None else None
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for name in study.population.characteristics:
            if declared is not None and name not in declared:
                where = _locate(Study, node, ("population", "characteristics", name))
                out.error(shown, where.line, f"population.characteristics.{name}",
                          f"characteristic '{name}' is not declared in {SETTINGS_FILE}; add it "
                          f"under `characteristics:` with what it means, or fix the name"
                          + (f" (declared: {', '.join(sorted(declared))})" if declared else ""))
        for i, o in enumerate(study.outcomes):
            if o.domain not in domains:
                where = _locate(Study, node, ("outcomes", i, "domain"))
                near = difflib.get_close_matches(o.domain, sorted(domains), n=1)
                out.error(shown, where.line, where.path,
                          f"outcome domain '{o.domain}' is not one this review declares"
                          + (f"; did you mean '{near[0]}'?" if near else "")
                          + f" (add it to `outcome_domains` in {SETTINGS_FILE})")
        for i, r in enumerate(study.results):
            for j, target in enumerate(getattr(r, "includes", ()) or ()):
                if target not in scan.studies and target not in scan.study_stems:
                    where = _locate(Study, node, ("results", i, "includes", j))
                    out.error(shown, where.line, where.path,
                              f"result '{r.id}' includes '{target}', which is not a study in "
                              "this folder; add the study or fix the key")
        arm_n = {a.id: a.n_randomised for a in study.arms}
        for i, r in enumerate(study.results):
            if isinstance(r, (ArmSummaryResult, ArmEventsResult)):
                for j, a in enumerate(r.arms):
                    n = a.n if isinstance(r, ArmSummaryResult) else a.total
                    cap = arm_n.get(a.arm)
                    if n is not None and cap is not None and n > cap:
                        name = "n" if isinstance(r, ArmSummaryResult) else "total"
                        where = _locate(Study, node, ("results", i, "arms", j, name))
                        out.error(shown, where.line, where.path,
                                  f"result '{r.id}', arm '{a.arm}': {n} analysed but the arm "
                                  f"randomised {cap} (arms: n_randomised); check both numbers")
            if isinstance(r, (PValueResult, NarrativeResult)) or r.direction is None:
                continue
            better = study.outcome(r.outcome).better
            effect = study_effect(r, study)
            if effect is None or better is None:
                continue
            derived = data_direction(effect.yi, effect.vi, better)
            point = (1 if better == "higher" else -1) * effect.yi
            where = _locate(Study, node, ("results", i, "direction"))
            if (r.direction == "benefit" and point < 0) or (r.direction == "harm" and point > 0):
                out.error(shown, where.line, where.path,
                          f"result '{r.id}': direction '{r.direction}' contradicts the data "
                          f"({effect.measure} {effect.yi:+.3g} on the analysis scale, "
                          f"{better} is better: the data point to {derived}); remove `direction` "
                          "(it is derived from the data) or fix the numbers")
            elif r.direction == "no-difference" and derived in ("benefit", "harm"):
                out.warning(shown, where.line, where.path,
                            f"result '{r.id}': typed 'no-difference' but the data's 95% CI "
                            f"excludes no effect ({derived}); the data are used, the typed "
                            "direction is ignored")
        for loc, value, quote in unprinted_numbers(study):
            where = _locate(Study, node, loc)
            out.error(shown, where.line, where.path,
                      f"{value:g} is not printed in its provenance quote ({quote[:80]!r}); quote "
                      "the text that shows it, or say in `inference` how it was derived")


def _check_question_domains(scan: _Scan, q_node: yaml.Node | None, q_path: Path) -> None:
    if q_node is None:
        return
    domains = set(scan.settings.outcome_domains) if scan.settings is not None else set(
        records.DEFAULT_OUTCOME_DOMAINS)
    for q in scan.questions.values():
        i = scan.question_index[q.id]
        for j, d in enumerate(q.outcome_domains):
            if d not in domains:
                where = _locate(_QuestionsFile, q_node, ("questions", i, "outcome_domains", j))
                scan.out.error(_show(q_path), where.line, where.path,
                               f"question '{q.id}': outcome domain '{d}' is not one this review "
                               f"declares (add it to `outcome_domains` in {SETTINGS_FILE})")


def _some(ids: list[str], limit: int = 4) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _mentions(items: tuple[records.NotReported, ...], word: str) -> bool:
    return any(word in (nr.item + " " + (nr.note or "")).lower() for nr in items)


def _warn_suspicious(scan: _Scan) -> None:
    out = scan.out
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        secondary, inferred = [], []
        for i, r in enumerate(study.results):
            if r.provenance.secondary:
                secondary.append(r.id)
            if r.provenance.inference:
                inferred.append(r.id)
            if isinstance(r, EffectEstimate):
                asym = r.ci_asymmetry()
                if asym is not None and r.ci_asymmetry_beyond_rounding():
                    where = _locate(Study, node, ("results", i))
                    out.warning(shown, where.line, where.path,
                                f"result '{r.id}': the CI {r.ci_low} to {r.ci_high} is not "
                                f"symmetric around the estimate {r.estimate} (the estimate sits "
                                f"{asym:.0%} of the CI width from its midpoint, more than rounding "
                                f"of the printed digits explains): kept as printed; check the "
                                f"full text")
            if isinstance(r, ArmSummaryResult):
                for j, a in enumerate(r.arms):
                    if a.sd_imputed:
                        where = _locate(Study, node, ("results", i, "arms", j, "sd_imputed"))
                        out.warning(shown, where.line, where.path,
                                    f"result '{r.id}', arm '{a.arm}': the SD is not printed in "
                                    f"the source but derived ({a.sd_imputed}); effect sizes using "
                                    "it are less certain: check the full text for the real SD")
        if secondary or inferred:
            parts = []
            if secondary:
                parts.append(f"{len(secondary)} result(s) come from a secondary source "
                             f"({_some(secondary)})")
            if inferred:
                parts.append(f"{len(inferred)} result(s) rest on the reviewers' inference "
                             f"({_some(inferred)})")
            out.warning(shown, _locate(Study, node, ("results",)).line, "results",
                        "; ".join(parts) + ": check them against the full text when available")
        for name in ("funding", "conflicts"):
            if getattr(study, name) is None and not _mentions(
                    study.not_reported, "fund" if name == "funding" else "conflict"):
                where = _locate(Study, node, (name,))
                out.warning(shown, where.line, name,
                            f"{name} not recorded; give it when known, or add a not_reported "
                            f"entry saying where you looked")


def _report(scan: _Scan, shown_root: str) -> ValidationReport:
    def order(m: Message) -> tuple:
        return (m.file or "", m.line if m.line is not None else 0)

    errors = sorted((m for m in scan.out.messages if m.severity == "error"), key=order)
    warnings = sorted((m for m in scan.out.messages if m.severity != "error"), key=order)
    return ValidationReport(
        root=shown_root,
        studies=len(scan.studies),
        study_ids=tuple(scan.studies),
        numbers=scan.numbers,
        numbers_with_provenance=scan.numbers_with_provenance,
        errors=tuple(errors),
        warnings=tuple(warnings),
        questions=len(scan.questions),
        references=len(scan.references),
    )


# ----------------------------------------------------------------------------------------------
# public API


def validate_evidence(path: str | Path = "evidence") -> ValidationReport:
    """Read and check an evidence folder; report every problem with file, line, field and fix.

    Parameters
    ----------
    path
        The evidence folder (``references.bib``, ``studies/``, optional ``questions.yaml``).

    Returns
    -------
    ValidationReport
        ``ok`` is false when any error was found. Problems inside the folder (a YAML typo, a
        binary or non-UTF-8 file, an unknown field, a missing BibTeX entry) are errors in the
        report, never exceptions.

    Raises
    ------
    InputError
        Only when the folder itself is missing, not a folder, or cannot be listed (the CLI's
        exit code 2).

    Notes
    -----
    Errors: YAML or BibTeX syntax, unsafe YAML tags, duplicate YAML keys, schema (unknown fields
    with the closest valid name, missing fields, wrong types), impossible values (enforced by
    :mod:`evidencekit.evidence.records`), file name != study id, studies without a BibTeX entry and the
    reverse, duplicate keys, unresolved links and question references. Warnings: CIs not symmetric
    around their estimate beyond :data:`records.ASYMMETRY_TOLERANCE` (kept as printed), imputed
    SDs, results from secondary sources or inference, funding/conflicts not recorded, no
    questions.yaml.
    """
    scan = _scan(path)
    from ..audit.topics import validate_topics  # the audit's topic file lives in the folder too

    scan.out.messages.extend(validate_topics(path))
    return _report(scan, _show(Path(path)))


def load_library(path: str | Path = "evidence") -> Library:
    """Load the evidence folder as typed records.

    Parameters
    ----------
    path
        The evidence folder.

    Returns
    -------
    Library
        Frozen; warnings from validation are kept in ``Library.warnings``.

    Raises
    ------
    InputError
        When the folder cannot be read or validation finds errors; the message lists the first
        errors and says to run ``evidencekit validate`` for all of them.
    """
    scan = _scan(path)
    report = _report(scan, _show(Path(path)))
    if not report.ok:
        more = [f"... and {len(report.errors) - 10} more"] if len(report.errors) > 10 else []
        # quoted, so the command can be pasted even when the folder's name has spaces; the errors
        # go in `details`, each escaped on its own line (a file name cannot forge a line).
        raise InputError(f"{len(report.errors)} error(s) in the evidence; run `evidencekit "
                         f"validate {shlex.quote(_show(Path(path)))}` to see them all:",
                         file=_show(Path(path)), details=[*report.errors[:10], *more])
    return Library(root=Path(path).resolve(), studies=scan.studies, questions=scan.questions,
                   references=scan.references, warnings=report.warnings,
                   settings=scan.settings)


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
    """A study record as YAML that :func:`load_library` reads back to an equal record.

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


# ---------------------------------------------------------------------------------------------
# the review team's decisions per question (issue 16)


def _node_lines(node: yaml.Node | None, path: str, out: dict[str, int]) -> dict[str, int]:
    """Field path (``a.b[0].c``, as :mod:`evidencekit.grade.decisions` names fields) -> YAML line."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            out[sub] = key.start_mark.line + 1
            _node_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out[f"{path}[{i}]"] = value.start_mark.line + 1
            _node_lines(value, f"{path}[{i}]", out)
    return out


def _check_question_decisions(scan: _Scan, q_node: yaml.Node | None, q_path: Path) -> None:
    """Check each question's ``decisions:`` (overrides, exclusions) with file, line and field."""
    from ..grade.decisions import validate_decisions

    if q_node is None:
        return
    known = {sid: {r.id for r in study.results} for sid, study in scan.studies.items()}
    for q in scan.questions.values():
        if q.decisions is None:
            continue
        i = scan.question_index[q.id]
        base = f"questions[{i}].decisions"
        where = _locate(_QuestionsFile, q_node, ("questions", i, "decisions"))
        lines = _node_lines(where.node, base, {base: where.line} if where.line else {})
        for m in validate_decisions(q.decisions, file=_show(q_path), field=base,
                                    known_studies=known, lines=lines):
            scan.out.error(m.file, m.line, m.field, f"question '{q.id}': {m.message}")
