"""Loading an evidence folder through every check the pipeline needs: :func:`load_library`.

:func:`load_library` is public (re-exported from :mod:`evidencekit`); :func:`checked_scan` is the
folder read and checked, which :func:`evidencekit.validation.validate_evidence` (the one gate)
completes with the audit's topic file. This module sits above grade/ and below outputs/ and
audit/, so that both can load a library without reaching up to the gate. The folder is read, and
checked against itself, by the evidence layer
(:mod:`evidencekit.evidence.scan`, :mod:`evidencekit.evidence.checks`); the checks that need a
higher layer run here, in the order they have always run, so that messages on one line keep their
order: wording templates named in review.yaml (:mod:`evidencekit.grade.wording`), the review
team's decisions per question (:mod:`evidencekit.grade.decisions`), typed directions against the
data (:mod:`evidencekit.stats.synthesis`).
"""
from __future__ import annotations

import difflib
import re
import shlex
from pathlib import Path

from .errors import InputError
from .evidence.checks import (
    check_cross_references, check_declared_and_counted, check_question_domains,
    check_quoted_numbers, warn_suspicious)
from .evidence.library import Library
from .evidence.reading import field_lines, posix
from .evidence.records import NarrativeResult, PValueResult, Study
from .evidence.report import make_report
from .evidence.scan import QUESTIONS_FILE, QuestionsFile, Scan, scan_folder
from .evidence.schema_errors import locate
from .grade.decisions import validate_decisions
from .grade.wording import default_templates
from .evidence.settings import SETTINGS_FILE, ReviewSettings
from .stats.synthesis import data_direction, study_effect

__all__ = ["load_library", "checked_scan"]


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
    scan = checked_scan(path)
    report = make_report(scan)
    if not report.ok:
        more = [f"... and {len(report.errors) - 10} more"] if len(report.errors) > 10 else []
        # quoted, so the command can be pasted even when the folder's name has spaces; the errors
        # go in `details`, each escaped on its own line (a file name cannot forge a line).
        raise InputError(f"{len(report.errors)} error(s) in the evidence; run `evidencekit "
                         f"validate {shlex.quote(report.root)}` to see them all:",
                         file=report.root, details=[*report.errors[:10], *more])
    return Library(root=Path(path).resolve(), studies=scan.studies, questions=scan.questions,
                   references=scan.references, warnings=report.warnings,
                   settings=scan.settings)


def checked_scan(path: str | Path) -> Scan:
    """The folder read, then every check but the audit's topics, in the order they always ran."""
    scan = scan_folder(path)
    _check_wording(scan)
    check_cross_references(scan)
    check_question_domains(scan)
    _check_question_decisions(scan)
    check_declared_and_counted(scan)
    _check_directions(scan)
    check_quoted_numbers(scan)
    warn_suspicious(scan)
    return scan


def _check_wording(scan: Scan) -> None:
    """The wording templates review.yaml overrides exist, and use only their own placeholders."""
    parsed_s, s_node = scan.settings, scan.settings_node
    if parsed_s is None or s_node is None:
        return
    out = scan.out
    s_path = scan.root / SETTINGS_FILE
    known = default_templates()
    for name, text in parsed_s.wording.items():
        where = locate(ReviewSettings, s_node, ("wording", name))
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            out.error(posix(s_path), where.line, f"wording.{name}",
                      f"unknown wording template '{name}'"
                      + (f"; did you mean '{near[0]}'?" if near else "")
                      + " (the templates are in evidencekit/data/wording.yaml)")
            continue
        wanted = set(re.findall(r"{(\w+)}", known[name]))
        extra = set(re.findall(r"{(\w+)}", text)) - wanted - {
            "intervention", "Intervention"}
        if extra:
            out.error(posix(s_path), where.line, f"wording.{name}",
                      f"placeholder(s) {', '.join(sorted(extra))} are not "
                      f"available in '{name}'; use "
                      f"{', '.join(sorted(wanted | {'intervention'}))}")


def _check_question_decisions(scan: Scan) -> None:
    """Check each question's ``decisions:`` (overrides, exclusions) with file, line and field."""
    q_path, q_node = scan.root / QUESTIONS_FILE, scan.questions_node
    if q_node is None:
        return
    known = {sid: {r.id for r in study.results} for sid, study in scan.studies.items()}
    for q in scan.questions.values():
        if q.decisions is None:
            continue
        i = scan.question_index[q.id]
        base = f"questions[{i}].decisions"
        where = locate(QuestionsFile, q_node, ("questions", i, "decisions"))
        lines = field_lines(where.node, base, {base: where.line} if where.line else {})
        for m in validate_decisions(q.decisions, file=posix(q_path), field=base,
                                    known_studies=known, lines=lines):
            scan.out.error(m.file, m.line, m.field, f"question '{q.id}': {m.message}")


def _check_directions(scan: Scan) -> None:
    """A typed direction (benefit, harm, no difference) does not contradict the result's data."""
    out = scan.out
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for i, r in enumerate(study.results):
            if isinstance(r, (PValueResult, NarrativeResult)) or r.direction is None:
                continue
            better = study.outcome(r.outcome).better
            effect = study_effect(r, study)
            if effect is None or better is None:
                continue
            derived = data_direction(effect.yi, effect.vi, better)
            point = (1 if better == "higher" else -1) * effect.yi
            where = locate(Study, node, ("results", i, "direction"))
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
