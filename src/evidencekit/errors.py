"""Errors a user can act on.

Every problem caused by input (a YAML typo, a CSV missing a column, an unreadable file) is raised as an
:class:`InputError` or collected as a :class:`Message`. Both name the file, the line where known, the
field path and what to do, so the CLI can print them without a traceback.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Message:
    """One validation finding, in the shape of the ``validate --format json`` contract."""

    file: str | None
    line: int | None
    field: str | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("severity")
        return d

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if self.file else f"line {self.line}"
        field = f"[{self.field}]" if self.field else ""
        # An option such as --method has no file: "[--method]: error: ...", not "<input> [...]".
        head = " ".join(part for part in (where, field) if part) or "<input>"
        return f"{head}: {self.severity}: {self.message}"


class EvidenceKitError(Exception):
    """Base class for errors the package raises on purpose."""


class InputError(EvidenceKitError, ValueError):
    """Input that cannot be used as given. The CLI maps it to exit code 2.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    file, line, field
        Where the problem is, as far as known.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self.as_message()))

    def as_message(self) -> Message:
        return Message(file=self.file, line=self.line, field=self.field, message=self.message)
