"""Errors a user can act on.

Every problem caused by input (a YAML typo, a CSV missing a column, an unreadable file) is raised as an
:class:`InputError` or collected as a :class:`Message`. Both name the file, the line where known, the
field path and what to do, so the CLI can print them without a traceback.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# Characters that must never reach a terminal raw: C0/C1 controls (ESC starts a terminal escape
# sequence, CR and newlines forge lines), line/paragraph separators and bidirectional controls
# (they reorder what is shown). Tab and newline are kept in running output; in a message part
# (a file name, a YAML key) every one of them is escaped.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                              "\u2028-\u202e\u2066-\u2069]")
# In a message part, also the zero-width and other format characters that make two different keys
# look the same (U+200B, U+FEFF, the soft hyphen, ...).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                        "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    if match.group() in _NAMED:
        return _NAMED[match.group()]
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control, separator and invisible character shown as an escape.

    For the parts of a message that come from input (file names, YAML keys, values): an ESC from a
    file name cannot drive the terminal, a newline cannot forge a second message, and a key with a
    zero-width space shows as ``n\\u200b``, not as ``n``.
    """
    return _INVISIBLE.sub(_escape, text)


def terminal_safe(text: str) -> str:
    """Running output with controls (but not tab and newline) and bidi overrides escaped."""
    return _TERMINAL_UNSAFE.sub(_escape, text)


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
        where = printable(self.file) if self.file else ""
        if self.line is not None:
            where = f"{where}:{self.line}" if self.file else f"line {self.line}"
        field = f"[{printable(self.field)}]" if self.field else ""
        # An option such as --method has no file: "[--method]: error: ...", not "<input> [...]".
        head = " ".join(part for part in (where, field) if part) or "<input>"
        return f"{head}: {self.severity}: {printable(self.message)}"


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
    details
        Further messages printed one per line under this one (e.g. the first validation errors).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, details: tuple[Message, ...] | list = ()):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.details = tuple(details)
        super().__init__(str(self))

    def __str__(self) -> str:
        # Each line is escaped on its own, so only these newlines reach the terminal.
        return "\n  ".join([str(self.as_message()), *(printable(str(d)) if not isinstance(
            d, Message) else str(d) for d in self.details)])

    def as_message(self) -> Message:
        return Message(file=self.file, line=self.line, field=self.field, message=self.message)
