"""Markdown escaping for CommonMark and GitHub/GitLab-flavoured Markdown, and control stripping.

A value from a study record or a BibTeX entry is text: it must render as the same characters in
every Markdown viewer, never as a heading, a code fence that swallows the rest of the page, a list,
a quote, emphasis, strikethrough, maths, a link or raw HTML. :func:`md_escape` makes it so; the
Jinja2 environment that renders ``*.md.j2`` uses it as ``finalize`` so every ``{{ value }}`` goes
through it without the templates having to say so.

How (CommonMark 0.31 section 2.4: any ASCII punctuation may be backslash-escaped, and an escaped
character is literal text):

- whitespace, newlines included, collapses to single spaces, so a value cannot start a block of its
  own (a heading, a setext underline, a fence, a table row, an indented code block);
- inline specials are escaped wherever they are: ``\\ ` * _ [ ] < > ~ $ | &`` (emphasis, code,
  links and images, raw HTML and autolinks, GFM strikethrough and fences ``~~~``, GitHub/GitLab
  maths ``$...$``, GFM table cells, entity references);
- block starters are escaped where the value starts, because a template may put it at the start of
  a line: ``#`` (ATX heading), ``>`` (quote), ``-``, ``+``, ``=`` (list items, thematic breaks,
  setext underlines) and ``1.`` / ``1)`` (ordered lists);
- GFM's extended autolinks are broken up: ``www.`` becomes ``www\\.`` and ``://`` becomes ``\\://``,
  which GitHub's cmark-gfm renders as plain text. (An e-mail address may still be shown as a
  ``mailto:`` link by GitHub: cmark-gfm finds those after escapes are resolved. It cannot run code.)

Control characters (C0 and C1, NUL from a YAML ``"\\0"`` included), bidirectional controls and
line/paragraph separators are removed from every value, in Markdown (:func:`md_escape`) and in HTML
(:func:`strip_controls`, the HTML environment's ``finalize``).
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["MdSafe", "md_escape", "strip_controls", "html_finalize"]


class MdSafe(str):
    """Markdown that the renderer built itself (e.g. an autolink); not escaped again."""


# C0/C1 controls other than tab, newline and CR; bidi controls; line and paragraph separators;
# zero-width and other format characters that would make printed text differ from what it looks.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f"
                       "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")

# Inline specials, escaped wherever they are.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>~$|&])")
# Block starters, escaped at the start of the value only (where a template may start a line). They
# are escaped whatever follows them ("-0.9" becomes "\-0.9"): the rendered text is the same, and
# the rule stays simple enough to check by eye.
_MD_BLOCK_START = re.compile(r"^([#>+=-])")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])")
# GFM extended autolinks: www. and scheme://
_WWW = re.compile(r"(?i)\b(www)\.")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(//)")


def strip_controls(text: str) -> str:
    """``text`` without control, bidi-control, separator and zero-width characters."""
    return _CONTROLS.sub("", text)


def md_escape(value: Any) -> str:
    """Escape a value for Markdown so that it renders as the same characters everywhere.

    Parameters
    ----------
    value
        Any value; ``None`` becomes the empty string and an :class:`MdSafe` passes unchanged.

    Returns
    -------
    str
        One line of Markdown source.

    Notes
    -----
    Escaping rules: CommonMark 0.31.2 sections 2.4 (backslash escapes), 4 (leaf blocks) and 5
    (container blocks); GFM 0.29 sections 6.5 (strikethrough) and 6.9 (extended autolinks); the
    ``$`` maths delimiters of GitHub and GitLab. See the module docstring.
    """
    if isinstance(value, MdSafe):
        return str(value)
    if value is None:
        return ""
    text = " ".join(strip_controls(str(value)).split())
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_BLOCK_START.sub(r"\\\1", text)
    text = _MD_ORDERED.sub(r"\1\\\2", text)
    text = _WWW.sub(r"\1\\.", text)
    return _SCHEME.sub(r"\1\\:\2", text)


def html_finalize(value: Any) -> Any:
    """Jinja2 ``finalize`` for HTML: control characters removed before autoescaping.

    Markup that the renderer built (``markupsafe.Markup``) stays Markup, so it is not escaped twice.
    """
    if value is None or not isinstance(value, str):
        return value
    from markupsafe import Markup

    cleaned = strip_controls(value)
    return Markup(cleaned) if isinstance(value, Markup) else cleaned
