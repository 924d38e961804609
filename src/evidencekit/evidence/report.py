"""What validating an evidence folder found: the :class:`ValidationReport` and how it is made."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import Message, printable
from .reading import posix
from .scan import Scan

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ValidationReport", "make_report"]


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`~evidencekit.validation.validate_evidence` found; ``ok`` when there are no errors.

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
        """The ``validate --format json`` contract (DESIGN.md): the verdict, the counts, the
        messages."""
        counts = {"studies": self.studies, "study_ids": list(self.study_ids),
                  "questions": self.questions, "references": self.references,
                  "numbers": self.numbers, "numbers_with_provenance": self.numbers_with_provenance}
        return {"ok": self.ok, "evidence_dir": self.root, **counts,
                "errors": [m.to_dict() for m in self.errors],
                "warnings": [m.to_dict() for m in self.warnings]}

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


def make_report(scan: Scan) -> ValidationReport:
    """The scan's messages, errors and warnings each sorted by file and line (stable: messages on
    one line keep the order the checks found them in)."""
    def order(m: Message) -> tuple:
        return (m.file or "", m.line if m.line is not None else 0)

    errors = sorted((m for m in scan.out.messages if m.severity == "error"), key=order)
    warnings = sorted((m for m in scan.out.messages if m.severity != "error"), key=order)
    return ValidationReport(
        root=posix(scan.root),
        studies=len(scan.studies),
        study_ids=tuple(scan.studies),
        numbers=scan.numbers,
        numbers_with_provenance=scan.numbers_with_provenance,
        errors=tuple(errors),
        warnings=tuple(warnings),
        questions=len(scan.questions),
        references=len(scan.references),
    )
