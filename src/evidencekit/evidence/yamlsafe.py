"""YAML loading with YAML 1.2 core-schema numbers, and the checks that keep values honest.

PyYAML implements YAML 1.1, which reads several plain values differently from YAML 1.2 (and from
most editors, linters and other languages' parsers):

=================  ==========================  ================================================
written            YAML 1.1 (PyYAML)           here
=================  ==========================  ================================================
``040``            32 (octal)                  error: ambiguous (40 in YAML 1.2); write ``40``
``1:30.5``         90.5 (base 60)              error: write the number, or quote the text
``yes no on off``  true / false                error: write ``true``/``false``, or quote the text
``1_000``          1000                        error: write ``1000``
``0b101``          5                           error: write the decimal number
``1e5``            the text "1e5"              100000.0 (a YAML 1.2 float)
``0o17``           the text "0o17"             15 (a YAML 1.2 octal)
``<<: *base``      merge the mapping           error (see :mod:`evidencekit.evidence.reading`): write the keys out
=================  ==========================  ================================================

An ambiguous value is an error rather than either reading, because whichever reading were chosen, a
tool using the other would show a different number for the same file.

Numbers are also range-checked where they are read (:func:`scalar_problem`): any number whose
magnitude exceeds :data:`MAX_ABS_NUMBER` is an error naming its line and column, so no later step
(squaring an SD, a product of two arm sizes, an int64 column) can overflow.

:func:`invisible_characters` finds characters a reader cannot see: line and paragraph separators
(U+2028, U+2029, which YAML 1.1 treats as line breaks, so one inside a line starts a hidden key),
zero-width and bidirectional-control characters, and other format or control characters.
"""
from __future__ import annotations

import bisect
import math
import re
import unicodedata
from dataclasses import dataclass

import yaml

__all__ = ["Loader", "MAX_ABS_NUMBER", "scalar_problem", "invisible_characters", "Invisible",
           "describe_character"]

#: Largest magnitude of a number written with a decimal point or an exponent. No mean, SD or CI
#: limit in a study comes near it, and its square, its fourth power, or its product with another
#: such number stays far inside float64 (whose largest value is 1.8e308).
MAX_ABS_NUMBER = 1e12

#: Largest magnitude of an integer. No count in a study comes near it, and the product of two (n1 *
#: n2, also in an int64 column, whose largest value is 9.2e18) cannot overflow.
MAX_ABS_INTEGER = 10**9

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")

# Plain values YAML 1.1 and 1.2 read differently: refused, with the fix.
_AMBIGUOUS = [
    (re.compile(r"^[-+]?0[0-9]+$"),
     "a number with a leading zero ({v}) is read as octal by some YAML tools (040 = 32) and as "
     "decimal by others; write it without the leading zero, or quote it if it is text"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"),
     "'{v}' is read as a base-60 number by some YAML tools (1:30 = 90); write the number itself "
     "(e.g. minutes as 90), or quote it if it is a time or a ratio"),
    (re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$"),
     "'{v}' is read as true/false by some YAML tools and as text by others; write true or false, "
     "or quote it (\"{v}\") if it is text"),
    (re.compile(r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]*_[0-9a-fA-F_]*|[0-9][0-9_]*_[0-9_]*"
                r"(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)$"),
     "'{v}' is read as a number by some YAML tools and as text by others (underscores, 0b); "
     "write the number in plain decimal digits, or quote it if it is text"),
]


class Loader(_Base):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader (libyaml's where present) resolving plain values by YAML 1.2 core.

    Only the resolvers and the int/float constructors differ from ``SafeLoader``: no new tag is
    constructed, so loading stays plain data.
    """

    yaml_implicit_resolvers: dict = {}


def _add(tag: str, regexp: re.Pattern, first: str) -> None:
    Loader.add_implicit_resolver(tag, regexp, list(first) if first else [None])


# The first-character lists only speed resolution up; they must cover every match.
_add("tag:yaml.org,2002:bool", _BOOL_RE, "tTfF")
_add(_INT, _INT_RE, "-+0123456789")
_add(_FLOAT, _FLOAT_RE, "-+0123456789.")
_add("tag:yaml.org,2002:null", _NULL_RE, "~nN")
Loader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL_RE, [""])
# `<<` still resolves to the merge tag so that it can be refused by name (reading._check_nodes).
_add("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), "<")
# Dates stay dates (YAML 1.1's timestamp): the schema reads them, and a text field given a date is
# reported by validation.
_add("tag:yaml.org,2002:timestamp", re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?
     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X), "0123456789")


def _construct_int(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> int:
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def _construct_float(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> float:
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return -math.inf if v.startswith("-") else math.inf
    if v == ".nan":
        return math.nan
    return float(v)


Loader.add_constructor(_INT, _construct_int)
Loader.add_constructor(_FLOAT, _construct_float)


def scalar_problem(node: yaml.ScalarNode) -> str | None:
    """What is wrong with one composed scalar, or ``None``.

    Refuses plain values YAML 1.1 and 1.2 read differently, and numbers beyond
    :data:`MAX_ABS_NUMBER` (integers beyond :data:`MAX_ABS_INTEGER`). The column is given in the
    message because a line may hold a flow list of several numbers.
    """
    v = node.value
    where = f" (column {node.start_mark.column + 1})"
    if node.style:  # quoted or block text (plain is None, or '' from libyaml): text as written...
        hidden = _INVISIBLE.search(v)
        if hidden:  # ... but an escape such as "\0" or "\u200b" can still hide a character
            return (f"the quoted text holds the invisible or control character "
                    f"{describe_character(hidden.group())} (written as an escape such as \\0 or "
                    f"\\u200b); delete the escape{where}")
        return None
    if node.tag == _STR:
        for pattern, message in _AMBIGUOUS:
            if pattern.match(v):
                return message.format(v=v) + where
        return None
    if node.tag == _INT:
        if _AMBIGUOUS[0][0].match(v):  # YAML 1.2 reads 040 as 40, YAML 1.1 as 32
            return _AMBIGUOUS[0][1].format(v=v) + where
        try:
            number = abs(_construct_int(_NoLoader, node))
        except ValueError:  # pragma: no cover - the resolver only lets digits through
            return None
        if number > MAX_ABS_INTEGER:
            return (f"the integer {_short(v)} is larger than {MAX_ABS_INTEGER:,}, more than any "
                    f"count in a study; check the digits{where}")
    elif node.tag == _FLOAT:
        number = abs(float(v.lower().replace(".inf", "inf").replace(".nan", "nan")))
        if math.isfinite(number) and number > MAX_ABS_NUMBER:
            return (f"the number {_short(v)} is larger than {MAX_ABS_NUMBER:.0e} in magnitude, "
                    f"more than any value in a study, and would overflow when squared or "
                    f"multiplied; check the digits and the exponent{where}")
    return None


class _NoLoader:
    """Stands in for a loader in :func:`_construct_int` (only ``construct_scalar`` is used)."""

    @staticmethod
    def construct_scalar(node: yaml.ScalarNode) -> str:
        return node.value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Invisible:
    """One character a reader cannot see, with its 1-based line and column."""

    line: int
    column: int
    char: str

    @property
    def message(self) -> str:
        kind = "control" if unicodedata.category(self.char) == "Cc" else "invisible"
        return (f"{kind} character {describe_character(self.char)} at column {self.column}; "
                "delete it (it is often pasted in from a PDF or a web page). Where it sits inside "
                "a key or a value, the text looks right but is not")


def describe_character(char: str) -> str:
    """``U+200B (ZERO WIDTH SPACE)``."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


# Cc other than tab and the line ends (U+0085, NEL, is a YAML 1.1 line break), Cf (zero-width
# characters, bidirectional controls, the soft hyphen, a BOM inside the file, tag characters) and
# Zl/Zp (U+2028, U+2029), as listed in Unicode 15's UnicodeData.txt; a test checks the list against
# the running Python's unicodedata.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def invisible_characters(text: str, limit: int = 20) -> list[Invisible]:
    """Up to ``limit`` invisible or control characters in ``text``, with line and column.

    Lines are counted on ``\\n`` (and a lone ``\\r``), not on U+2028, so the line given is the one
    an editor shows.
    """
    found: list[Invisible] = []
    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    for m in _INVISIBLE.finditer(text):
        i = bisect.bisect_right(line_starts, m.start()) - 1
        found.append(Invisible(i + 1, m.start() - line_starts[i] + 1, m.group()))
        if len(found) >= limit:
            break
    return found
