"""Data in through the front door: ``evidencekit new`` and ``evidencekit import``.

:func:`new_review` writes a skeleton evidence folder that ``evidencekit validate`` accepts.
:func:`import_rows` turns a table of studies (one per row, metafor's column names) into study
records with provenance ("FILE, row N", the row itself as the quote), a BibTeX entry per new key,
and the question the rows answer (created with the given PICO text, or extended). Re-importing the
same file writes the same text, so it changes nothing.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

from ..vocab import PROPORTION_MEASURES
from ..errors import InputError
from ..io import read_text
from .comparators import kind_from_text
from .records import Better
from .settings import SETTINGS_FILE, settings_yaml

__all__ = ["ImportReport", "DATA_COLUMNS", "new_review", "import_rows"]

#: Data columns per measure family (metafor's argument names), first complete set wins.
DATA_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "continuous": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
    "dichotomous": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "proportion": (("xi", "ni"),),
    "printed": (("estimate", "ci_low", "ci_high"),),
    "generic": (("yi", "vi"),),
}
_FAMILY_MEASURES = {"continuous": {"MD", "SMD"}, "dichotomous": {"RR", "OR", "RD"},
                    "proportion": set(PROPORTION_MEASURES),
                    "printed": {"MD", "SMD", "RR", "OR", "RD", "HR", "IRR", "PR"},
                    "generic": {"GEN"}}
_DESIGNS = {"rct": "randomised-trial", "randomised": "randomised-trial",
            "randomized": "randomised-trial", "randomised-trial": "randomised-trial",
            "randomized-trial": "randomised-trial", "non-randomised": "non-randomised-comparison",
            "non-randomized": "non-randomised-comparison",
            "non-randomised-comparison": "non-randomised-comparison", "cohort": "cohort",
            "case-control": "case-control", "case-series": "case-series",
            "cross-sectional": "cross-sectional", "within-subject-trial": "within-subject-trial"}
_KEY = re.compile(r"^[a-z][a-z0-9-]*$")

_TEMPLATE = """\
# A study record (copy to studies/<bibtex-key>.yaml). Every number needs a provenance: the source
# and a short verbatim quote that shows it. Values a paper does not give stay null.
# id: smith2020
# short_title: Neck pain trial (Smith 2020)
# design: randomised-trial        # or cohort, case-control, case-series, ...
# randomised: true
# population: {description: Adults with ..., n: 60, provenance: {source: ..., quote: "..."}}
# arms:
#   - {id: treat, label: Treatment, role: intervention, intervention: ...}
#   - {id: ctrl, label: Placebo, role: comparator, intervention: ..., comparator_kind: sham-or-placebo}
# outcomes:
#   - {id: pain, domain: pain, scale: 0-10, better: lower}
# results:
#   - kind: arm-summary            # or arm-events, proportion, effect-estimate, p-value, narrative
#     id: pain-6w
#     outcome: pain
#     time_point: 6 weeks
#     contrast: between-groups
#     arms: [{arm: treat, mean: 2.5, sd: 1.8, n: 30}, {arm: ctrl, mean: 4.1, sd: 2.0, n: 30}]
#     provenance: {source: "Table 2", quote: "2.5 (1.8) vs 4.1 (2.0)"}
# risk_of_bias: {tool: RoB 2, overall: some-concerns, reason: ...}
"""


def new_review(folder: str | Path, intervention: str, title: str | None = None) -> list[Path]:
    """Write a skeleton evidence folder; returns the files written.

    Raises
    ------
    InputError
        When the folder exists and is not empty (nothing is overwritten), or the intervention is
        blank.
    """
    root = Path(folder)
    if not intervention or not intervention.strip():
        raise InputError("give the intervention as a noun phrase, e.g. --intervention "
                         "'BCG vaccination'", field="--intervention")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError("already exists and is not an empty folder; choose a new folder name "
                         "(nothing was written)", file=str(root))
    (root / "studies").mkdir(parents=True, exist_ok=True)
    files = {
        root / SETTINGS_FILE: settings_yaml(intervention.strip(), title),
        root / "references.bib": "% One BibTeX entry per study; the key is the study's id.\n",
        root / "questions.yaml": "# The review questions (evidencekit import adds them).\n"
                                 "questions: []\n",
        root / "TEMPLATE.yaml.example": _TEMPLATE,
        root / "studies" / "README.md": "One `<bibtex-key>.yaml` study record per paper.\n",
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


@dataclass
class ImportReport:
    """What an import did: files written or unchanged, rows skipped, warnings."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"written": self.written, "unchanged": self.unchanged, "studies": self.studies,
                "warnings": self.warnings}

    def summary(self) -> str:
        lines = [f"imported {len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'}; "
                 f"{len(self.written)} file(s) written, {len(self.unchanged)} unchanged"]
        lines += [f"  wrote {w}" for w in self.written]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _family(columns, measure: str, source: str) -> tuple[str, tuple[str, ...]]:
    for family, sets in DATA_COLUMNS.items():
        for cols in sets:
            if set(cols) <= set(columns) and measure in _FAMILY_MEASURES[family]:
                return family, cols
    wanted = "; ".join(f"{', '.join(c)} ({'/'.join(sorted(_FAMILY_MEASURES[f]))})"
                       for f, sets in DATA_COLUMNS.items() for c in sets)
    raise InputError(f"no complete set of data columns for measure {measure}; the columns are "
                     f"{', '.join(columns)}. Use one of: {wanted}", file=source, line=1)


def _number(text: str, column: str, source: str, line: int, integer: bool = False):
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{column} = {text!r} is not a number", file=source, line=line,
                         field=column) from None
    if not math.isfinite(value):
        raise InputError(f"{column} = {text!r} is not a finite number", file=source, line=line,
                         field=column)
    if integer:
        if value != int(value) or value < 0:
            raise InputError(f"{column} = {text!r} must be a whole number of people or events",
                             file=source, line=line, field=column)
        return int(value)
    return value


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _write(path: Path, text: str, report: ImportReport) -> None:
    if path.exists() and read_text(path, newlines=True) == text:
        report.unchanged.append(str(path))
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    report.written.append(str(path))


def _bib_escape(text: str) -> str:
    return text.replace("\\", "").replace("{", "").replace("}", "")


def import_rows(frame, source: str, evidence: str | Path, *, question: str, measure: str,
                outcome: str, population: str, better: str, comparator: str | None = None,
                time: str | None = None, important_effect: float | None = None,
                raw_lines: dict[int, str] | None = None) -> ImportReport:
    """Write one study record per row of ``frame`` (index: CSV line numbers) into ``evidence``.

    Parameters
    ----------
    frame
        Text cells with the columns ``study`` (BibTeX key), optional ``author, year, title,
        design``, and one data column set (:data:`DATA_COLUMNS`).
    source
        The CSV's name as shown in provenance ("FILE, row N").
    raw_lines
        CSV line number -> the line's text, used as each record's verbatim quote.
    """
    root = Path(evidence)
    shown = Path(source).name
    if not (root / SETTINGS_FILE).is_file():
        raise InputError(f"no {SETTINGS_FILE} here; make the review first with `evidencekit new "
                         f"{root} --intervention ...`", file=str(root))
    if not _KEY.match(question):
        raise InputError(f"question id {question!r} must be lowercase letters, digits and "
                         "hyphens, starting with a letter", field="--question")
    if better not in get_args(Better):
        raise InputError("say which way the outcome is better: --lower-is-better or "
                         "--higher-is-better", field="--lower-is-better")
    measure = measure.upper()
    if "study" not in frame.columns:
        raise InputError("the CSV needs a 'study' column with each study's BibTeX key",
                         file=source, line=1, field="study")
    family, cols = _family(list(frame.columns), measure, source)
    settings = yaml.safe_load(read_text(root / SETTINGS_FILE, newlines=True)) or {}
    intervention = str(settings.get("intervention") or "the intervention")
    kind = kind_from_text(comparator) if family not in ("proportion",) else "none"
    report = ImportReport()
    new_bib: list[str] = []
    bib_path = root / "references.bib"
    bib_text = read_text(bib_path, kind="BibTeX file", newlines=True) if bib_path.exists() else ""
    known_keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib_text))
    entries: list[str] = []
    for row_number, (line, row) in enumerate(frame.iterrows(), start=1):
        key = str(row["study"]).strip().lower()
        if not _KEY.match(key):
            raise InputError(f"study key {row['study']!r} must be lowercase letters, digits and "
                             "hyphens, starting with a letter (it is the BibTeX key and the "
                             "file name)", file=source, line=int(line), field="study")
        empty = [c for c in cols if not str(row[c]).strip()]
        if empty:
            report.warnings.append(f"{source}:{line}: row skipped: empty {', '.join(empty)}")
            continue
        for name in ("author", "year"):
            if name not in frame.columns or not str(row.get(name, "")).strip():
                report.warnings.append(f"{source}:{line} [{name}]: {name} is empty; add it to "
                                       "the BibTeX entry when known")
        design_text = str(row.get("design", "") or "").strip().lower()
        if design_text:
            design = _DESIGNS.get(design_text)
            if design is None:
                raise InputError(f"design {design_text!r} is not known; use one of "
                                 f"{', '.join(sorted(set(_DESIGNS)))}", file=source,
                                 line=int(line), field="design")
        else:
            design = "case-series" if family == "proportion" else "randomised-trial"
        quote = (raw_lines or {}).get(int(line)) or ",".join(str(row[c]) for c in frame.columns)
        prov = {"source": f"{shown}, row {row_number}", "quote": quote}
        result: dict[str, Any] = {"id": question, "outcome": question,
                                  "time_point": time or "as reported",
                                  "contrast": "single-group" if family == "proportion"
                                  else "between-groups"}
        arms: list[dict[str, Any]] = []
        if family in ("continuous", "dichotomous"):
            arms = [{"id": "intervention", "label": intervention, "role": "intervention",
                     "intervention": intervention},
                    {"id": "comparator", "label": comparator or "comparator", "role": "comparator",
                     "intervention": comparator or "not stated in the imported table",
                     "comparator_kind": kind}]
        if family == "continuous":
            v = {c: _number(row[c], c, source, int(line), integer=c.startswith("n"))
                 for c in cols}
            result.update(kind="arm-summary", arms=[
                {"arm": "intervention", "mean": v["m1i"], "sd": v["sd1i"], "n": v["n1i"]},
                {"arm": "comparator", "mean": v["m2i"], "sd": v["sd2i"], "n": v["n2i"]}])
        elif family == "dichotomous":
            v = {c: _number(row[c], c, source, int(line), integer=True) for c in cols}
            n1 = v["n1i"] if "n1i" in v else v["ai"] + v["bi"]
            n2 = v["n2i"] if "n2i" in v else v["ci"] + v["di"]
            result.update(kind="arm-events", arms=[
                {"arm": "intervention", "events": v["ai"], "total": n1},
                {"arm": "comparator", "events": v["ci"], "total": n2}])
            if "n1i" not in v:
                prov["inference"] = ("arm totals are events + non-events (ai + bi, ci + di) "
                                     "from the row")
        elif family == "proportion":
            v = {c: _number(row[c], c, source, int(line), integer=True) for c in cols}
            result.update(kind="proportion", events=v["xi"], total=v["ni"])
        elif family == "printed":
            v = {c: _number(row[c], c, source, int(line)) for c in cols}
            result.update(kind="effect-estimate", measure=measure, estimate=v["estimate"],
                          ci_low=v["ci_low"], ci_high=v["ci_high"])
        else:
            v = {c: _number(row[c], c, source, int(line)) for c in cols}
            if v["vi"] <= 0:
                raise InputError("vi must be positive", file=source, line=int(line), field="vi")
            result.update(kind="effect-estimate", measure="GEN", estimate=v["yi"],
                          se=math.sqrt(v["vi"]))
            prov["inference"] = "se is the square root of the row's sampling variance vi"
        result["provenance"] = prov
        title = str(row.get("title", "") or "").strip()
        author = str(row.get("author", "") or "").strip()
        year = str(row.get("year", "") or "").strip()
        short = f"{author or key} {year}".strip()
        study = {
            "id": key, "short_title": title or short, "design": design,
            "randomised": design == "randomised-trial",
            "population": {"description": population},
            "arms": arms,
            "outcomes": [{"id": question, "domain": "other", "instrument": outcome,
                          "scale": outcome if family == "continuous" else None,
                          "better": better}],
            "results": [result],
            "risk_of_bias": {"tool": "not assessed", "overall": "not-assessable",
                             "reason": f"imported from {shown}; risk of bias has not been "
                                       "assessed yet"},
            "not_reported": [{"item": "funding and conflicts of interest",
                              "note": f"not in {shown}; add them from the paper"}],
        }
        if not arms:
            del study["arms"]
        path = root / "studies" / f"{key}.yaml"
        if path.exists():
            old = yaml.safe_load(read_text(path, newlines=True)) or {}
            results = [r for r in old.get("results", []) if r.get("id") != question]
            outcomes = [o for o in old.get("outcomes", []) if o.get("id") != question]
            old["results"] = results + [result]
            old["outcomes"] = outcomes + study["outcomes"]
            if arms and not old.get("arms"):
                old["arms"] = arms
            study = old
        _write(path, _dump(study), report)
        report.studies.append(key)
        entries.append(key)
        if key not in known_keys:
            known_keys.add(key)
            fields = [f"  title = {{{_bib_escape(title)}}}" if title else None,
                      f"  author = {{{_bib_escape(author)}}}" if author else None,
                      f"  year = {{{_bib_escape(year)}}}" if year else None,
                      f"  note = {{Imported from {_bib_escape(shown)}, row {row_number}}}"]
            new_bib.append("@misc{" + key + ",\n" + ",\n".join(f for f in fields if f) + "\n}\n")
    if new_bib:
        text = bib_text.rstrip("\n") + ("\n\n" if bib_text.strip() else "") + "\n".join(new_bib)
        _write(bib_path, text, report)
    else:
        report.unchanged.append(str(bib_path))
    _write_question(root, report, question=question, measure=measure, outcome=outcome,
                    population=population, better=better, comparator=comparator, kind=kind,
                    time=time, important_effect=important_effect, intervention=intervention,
                    studies=entries)
    return report


def _threshold_scale(measure: str) -> str:
    if measure in ("RR", "OR", "HR", "IRR"):
        return f"ratio ({measure})"
    if measure == "RD":
        return "risk difference"
    if measure == "SMD":
        return "SMD"
    return "points on the outcome's scale"


def _write_question(root: Path, report: ImportReport, *, question, measure, outcome, population,
                    better, comparator, kind, time, important_effect, intervention,
                    studies) -> None:
    path = root / "questions.yaml"
    data = yaml.safe_load(read_text(path, newlines=True)) if path.exists() else None
    data = data or {}
    questions = list(data.get("questions") or [])
    entry = next((q for q in questions if q.get("id") == question), None)
    if entry is None:
        entry = {"id": question, "title": outcome[:1].upper() + outcome[1:],
                 "population": population, "intervention": intervention,
                 "comparator": comparator or ("no comparison group" if kind == "none" else
                                              "a comparator the imported table does not name"),
                 "outcome": outcome, "better": better, "measure": measure,
                 "time_window": time or "at the time points the studies report",
                 "evidence": []}
        if kind:
            entry["comparator_kind"] = kind
        if important_effect is not None:
            entry["important_effect"] = {
                "value": float(important_effect),
                "scale": outcome if measure == "MD" else _threshold_scale(measure),
                "author_judgement": True,
                "source": "given by the reviewer at import (evidencekit import "
                          "--important-effect)"}
        questions.append(entry)
    have = {e.get("study") for e in entry.get("evidence") or []}
    entry["evidence"] = list(entry.get("evidence") or []) + [
        {"study": s, "results": [question]} for s in dict.fromkeys(studies) if s not in have]
    data["questions"] = questions
    _write(path, _dump(data), report)
