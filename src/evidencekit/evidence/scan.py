"""An evidence folder read into typed records: references.bib, review.yaml, studies/, questions.

:func:`scan_folder` reads every file of the folder once, validates each against its record model
and keeps what validated (with the YAML nodes, for line numbers) in a :class:`Scan`, together with
every problem found so far. The checks across files run on the scan afterwards
(:mod:`evidencekit.evidence.checks`, and :mod:`evidencekit.validation` for those that need the
statistics or the grading).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from ..errors import InputError
from ..settings import SETTINGS_FILE, ReviewSettings
from .bibliography import parse_bibtex
from .references import Reference
from .reading import Collector, load_yaml, posix, read_text
from .records import Question, Study
from .schema_errors import kind_of, locate, validate_model

__all__ = ["BIB_FILE", "QUESTIONS_FILE", "STUDY_FILE_SUFFIX", "QuestionsFile", "Scan",
           "scan_folder", "count_numbers"]

BIB_FILE = "references.bib"
QUESTIONS_FILE = "questions.yaml"
STUDY_FILE_SUFFIX = ".yaml"


def count_numbers(obj: Any, sourced: bool = False) -> tuple[int, int]:
    """(numbers, numbers with provenance) in a record tree, counting values given in the files."""
    if isinstance(obj, BaseModel):
        own = getattr(obj, "provenance", None) if "provenance" in type(obj).model_fields else None
        sourced = sourced or own is not None
        total = with_source = 0
        for name in sorted(obj.model_fields_set):
            if name == "provenance":
                continue
            t, w = count_numbers(getattr(obj, name), sourced)
            total += t
            with_source += w
        return total, with_source
    if isinstance(obj, (tuple, list)):
        total = with_source = 0
        for item in obj:
            t, w = count_numbers(item, sourced)
            total += t
            with_source += w
        return total, with_source
    if isinstance(obj, bool) or obj is None:
        return 0, 0
    if isinstance(obj, (int, float)):
        return 1, int(sourced)
    return 0, 0


class QuestionsFile(BaseModel):
    """Shape of questions.yaml: a top-level ``questions:`` list."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    questions: tuple[Question, ...]


@dataclass
class Scan:
    """What one reading of an evidence folder found: the records that validated, the YAML nodes
    they came from (for line numbers), and every message so far."""

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
    questions_node: yaml.Node | None = None  # questions.yaml as composed (None when unusable)
    out: Collector = field(default_factory=Collector)


def _check_root(path: Path) -> None:
    shown = posix(path)
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


def _study_files(root: Path, out: Collector, new_review: bool = False
                 ) -> tuple[list[Path], set[str]] | None:
    """The ``<key>.yaml`` files to read, and the stems of every study-like file (even misnamed).

    ``None`` when there is nothing to read (no folder, unreadable, or no study files), after
    reporting it.
    """
    folder = root / "studies"
    if not folder.is_dir():
        out.error(posix(folder), None, None, "no studies/ folder; create it and add one "
                                             "<key>.yaml file per study (see evidence/README.md)")
        return None
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        out.error(posix(folder), None, None, f"cannot be read ({exc.strerror or exc}); check its "
                                             "permissions")
        return None
    files: list[Path] = []
    stems: set[str] = set()
    for p in entries:
        if p.name.startswith(".") or p.name.lower().startswith("readme"):
            continue
        if p.is_dir():
            out.warning(posix(p), None, None, "folders inside studies/ are not read; move study "
                                              "files up into studies/")
        elif p.suffix == STUDY_FILE_SUFFIX:
            files.append(p)
            stems.add(p.stem)
        elif p.suffix.lower() in (".yml", ".yaml"):
            stems.add(p.stem)
            out.error(posix(p), None, None, f"study files end in '{STUDY_FILE_SUFFIX}'; rename it "
                                            f"to {p.stem}{STUDY_FILE_SUFFIX}")
        else:
            out.warning(posix(p), None, None, "not a study file (only <key>.yaml files are read); "
                                              "move it out of studies/")
    if not stems:
        if new_review:
            # A review just made with `evidencekit new`: nothing to check yet, and nothing wrong.
            out.warning(posix(folder), None, None, "no study files yet; add them with "
                                                   "`evidencekit import` or one <key>.yaml per "
                                                   "study")
            return None
        out.error(posix(folder), None, None, "no study files; add one <key>.yaml file per study "
                                             "(see evidence/README.md)")
        return None
    return files, stems


def _read_mapping_file(path: Path, out: Collector, *, missing: str, shape: str
                       ) -> tuple[yaml.Node, dict] | None:
    """An optional YAML file whose top level is a mapping, or None after saying why not.

    A missing file is a warning (``missing`` says what it is for); another top-level shape is an
    error (``shape`` says what the file holds).
    """
    if not path.exists():
        out.warning(posix(path), None, None, missing)
        return None
    loaded = load_yaml(path, out)
    if loaded is None:
        return None
    node, data = loaded
    if not isinstance(data, dict):
        out.error(posix(path), node.start_mark.line + 1, None, f"{shape}, not {kind_of(data)}")
        return None
    return node, data


def scan_folder(path: str | Path) -> Scan:
    """Read every file of the evidence folder ``path`` into a :class:`Scan` (nothing cross-checked).

    Raises :class:`~evidencekit.errors.InputError` only when the folder itself is missing, not a
    folder or unreadable; every problem inside it is a message in ``Scan.out``.
    """
    root = Path(path)
    _check_root(root)
    scan = Scan(root=root)
    out = scan.out

    # references.bib
    bib_path = root / BIB_FILE
    if not bib_path.exists():
        out.error(posix(bib_path), None, None, "references.bib is missing; create it with one "
                                               "BibTeX entry per study (key = study id)")
    else:
        text = read_text(bib_path, out)
        if text is not None:
            parsed = parse_bibtex(text, file=posix(bib_path))
            out.messages.extend(parsed.messages)
            scan.references = dict(parsed.references)
            scan.bib_broken_keys = set(parsed.broken_keys)
            scan.bib_read = parsed.read

    # review.yaml (the review's settings)
    s_path = root / SETTINGS_FILE
    loaded = _read_mapping_file(
        s_path, out, missing=f"there is no {SETTINGS_FILE}; outputs cannot name the intervention, "
                             "authors or search date. Create it (`evidencekit new` writes one)",
        shape=f"{SETTINGS_FILE} is a mapping (intervention: ..., title: ...)")
    if loaded is not None:
        s_node, s_data = loaded
        parsed_s = validate_model(ReviewSettings, s_data, s_node, posix(s_path), out)
        if parsed_s is not None:
            scan.settings = parsed_s  # type: ignore[assignment]
            scan.settings_node = s_node
            for key in ("search_date", "review_date", "title", "audience", "authors",
                        "conflicts", "contact"):
                if not getattr(parsed_s, key):
                    where = locate(ReviewSettings, s_node, (key,))
                    out.warning(posix(s_path), where.line, key, f"{key} not stated; give it when "
                                "known (patient material shows it as not stated)")

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
        shown = posix(file)
        loaded = load_yaml(file, out)
        if loaded is None:
            continue
        node, data = loaded
        if not isinstance(data, dict):
            out.error(shown, node.start_mark.line + 1, None,
                      f"a study file is a mapping of fields (id: ..., design: ...), not "
                      f"{kind_of(data)}; see evidence/README.md")
            continue
        study = validate_model(Study, data, node, shown, out)
        if study is None:
            continue
        assert isinstance(study, Study)
        id_line = locate(Study, node, ("id",)).line
        if study.id != file.stem:
            out.error(shown, id_line, "id", f"id '{study.id}' does not match the file name "
                                            f"'{file.name}'; rename the file to {study.id}.yaml "
                                            "or fix the id (it is the BibTeX key)")
            continue
        if study.id in files_by_id:
            out.error(shown, id_line, "id", f"study id '{study.id}' is also used by "
                                            f"{posix(files_by_id[study.id])}; each study needs its "
                                            "own id")
            continue
        files_by_id[study.id] = file
        scan.studies[study.id] = study
        scan.study_nodes[study.id] = (shown, node)
        total, sourced = count_numbers(study)
        scan.numbers += total
        scan.numbers_with_provenance += sourced
    scan.studies = dict(sorted(scan.studies.items()))

    # questions.yaml (optional while the questions are being written)
    q_path = root / QUESTIONS_FILE
    q_node: yaml.Node | None = None
    loaded = _read_mapping_file(
        q_path, out, missing="there is no questions.yaml; claims and certainty need it (a "
                             "top-level 'questions:' list)",
        shape="questions.yaml is a mapping with one key, 'questions:', holding a list of questions")
    if loaded is not None:
        q_node, q_data = loaded
        parsed_q = validate_model(QuestionsFile, q_data, q_node, posix(q_path), out)
        if parsed_q is not None:
            for i, q in enumerate(parsed_q.questions):  # type: ignore[attr-defined]
                if q.id in scan.questions:
                    where = locate(QuestionsFile, q_node, ("questions", i, "id"))
                    out.error(posix(q_path), where.line, where.path,
                              f"question id '{q.id}' is used twice; give each question "
                              "its own id")
                    continue
                scan.questions[q.id] = q
                scan.question_index[q.id] = i

    scan.questions_node = q_node
    return scan
