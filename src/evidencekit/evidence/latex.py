"""LaTeX in BibTeX values decoded to plain Unicode text, with pylatexenc.

Journal sites export accents and symbols as LaTeX (``{\\'e}``, ``\\"{u}``, ``\\ss``, ``--``); a
reference shows them as text. The decoding is pylatexenc's :class:`LatexNodes2Text`, with four
macros adjusted to what BibTeX values mean by them, and three guarantees around it for hostile
input: bounded time, no exception, the same text for the same value.

Notes
-----
pylatexenc walks a value node by node in pure Python, about 80 times slower than plain string
work (some 60 microseconds a character; linear: 0.1 MB in 7 s, 1 MB in 60 s on the development
machine). So a value whose only markup is braces (most titles, names, journals) skips it, decoded
values are cached, and a value longer than :data:`MAX_LATEX_CHARS` (far longer than any real
title or name) is not parsed as LaTeX: it only loses its braces. A value the parser cannot handle
(groups nested thousands deep, a macro missing its argument) falls back the same way instead of
raising.
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["latex_to_text", "MAX_LATEX_CHARS"]

#: Longest value decoded as LaTeX. A title is a few hundred characters; a longer value is no real
#: field, and parsing it would take pylatexenc seconds.
MAX_LATEX_CHARS = 5_000

# Characters and sequences that pylatexenc changes, besides the braces of a group; a value with
# none of them is text once its braces are removed (most titles, names and journals).
_MARKUP = re.compile(r"[\\~$%&]|``|''|--")

# A bare '&' in BibTeX is text (LaTeX would read it as a table column separator and drop it).
_BARE_AMPERSAND = re.compile(r"(?<!\\)&")


def latex_to_text(value: str) -> str:
    """Decode the LaTeX that BibTeX exports commonly contain into plain Unicode text.

    Accents (``{\\'e}``, ``\\"{u}``, ``\\c{c}``), letters such as ``\\ss`` and ``\\o``, escaped
    specials (``\\&``), dashes (``--``, ``---``), ties (``~``) and protective braces. A formatting
    command keeps its argument (``\\emph{x}`` -> ``x``). Runs of white space become one space.

    Notes
    -----
    pylatexenc (:class:`pylatexenc.latex2text.LatexNodes2Text`, math kept verbatim); see the
    module notes for the bounds around it.
    """
    if not _MARKUP.search(value):
        return _without_braces(value)
    if len(value) > MAX_LATEX_CHARS:
        return _without_braces(value)
    return _decode(value)


@lru_cache(maxsize=4096)
def _decode(value: str) -> str:
    try:
        text = _converter().latex_to_text(_BARE_AMPERSAND.sub(r"\\&", value))
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError):
        # pylatexenc's own errors derive from these (LatexWalkerError is a ValueError); anything it
        # cannot parse is shown as written, braces removed, rather than stopping the whole file.
        return _without_braces(value)
    return _squeeze(text)


@lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    # pylatexenc drops \mbox{...} and writes \url{x} as <x> and \cite{x} as <cit.>; in a BibTeX
    # value each stands for its text. \href has no argument spec in pylatexenc, so its two groups
    # follow as text.
    context.add_context_category("bibtex-values", prepend=True, macros=[
        MacroTextSpec("mbox", simplify_repl=_last_argument),
        MacroTextSpec("url", simplify_repl=_last_argument),
        MacroTextSpec("cite", simplify_repl=_last_argument),
        MacroTextSpec("href", simplify_repl=""),
    ])
    return LatexNodes2Text(latex_context=context, math_mode="verbatim",
                           strict_latex_spaces=False, keep_comments=True)


def _last_argument(node, l2tobj) -> str:
    # pylatexenc passes the converter to a parameter of exactly this name.
    args = [a for a in (node.nodeargd.argnlist if node.nodeargd else ()) if a is not None]
    return l2tobj.nodelist_to_text([args[-1]]) if args else ""


def _without_braces(value: str) -> str:
    return _squeeze(value.replace("{", "").replace("}", ""))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
