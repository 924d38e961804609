"""Reading a page: bytes to text, HTML to visible text, Markdown to a same-length scan copy.

Every function here is linear in the length of its input. Hostile pages (issue 17: ``<a b `` or
``<!--`` repeated, a line of 80,000 ``[``) made the standard library's ``html.parser`` and the old
Markdown regexes quadratic, so HTML is tokenised here with ``str.find`` from a moving position, and
each Markdown pattern is written so that an attempt that fails stops at the next candidate start.
"""
from __future__ import annotations

import codecs
import html
import re
from pathlib import Path

from .. import io as _io
from ..errors import InputError

__all__ = ["MAX_BYTES", "FORMATS", "read_page", "decode_page", "html_to_text", "markdown_scan",
           "NORMALISE", "page_format"]

#: Largest page read. 10 MB pages are audited (the audit is linear in the length of the text); past
#: this a page is not a patient page, and reading it would only tie up memory, so it is refused.
MAX_BYTES = _io.MAX_PAGE_BYTES

FORMATS = ("text", "markdown", "html")

# One-for-one replacements, so offsets into the scanned copy are offsets into the text.
NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                           "\u2013": "-", "\u2014": "-", "\u00a0": " "})

# A page saved as .txt that starts with a document or block tag is HTML: a fragment copied from a
# CMS ("<p>Our treatment ...") would otherwise be audited with its tags in every sentence.
_HTML_START = re.compile(r"\s*(?:<!doctype\s+html|<(?:html|head|body|p|div|h[1-6]|section|"
                         r"article|main|header|ul|ol|table)[\s>])", re.I)


def page_format(path: str | Path, text: str) -> str:
    """``html``, ``markdown`` or ``text``, from the extension (and, for other names, the start)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix in (".md", ".markdown", ".mdown", ".mkd"):
        return "markdown"
    return "html" if _HTML_START.match(text[:1000]) else "text"


def read_page(path: str | Path) -> tuple[str, str]:
    """Read a page and guess its format.

    Returns
    -------
    (source, format)
        The decoded file (HTML still with its tags: :func:`audit_text` strips them) and ``"text"``,
        ``"markdown"`` or ``"html"`` (from the extension; a file with another extension that
        starts with a doctype, ``<html>``, ``<body>`` or a block tag such as ``<p>`` is HTML).

    Raises
    ------
    InputError
        Missing or unreadable file, not a regular file (a folder, a pipe, a device), a binary file
        (NUL bytes), an encoding that is neither UTF-8 (with or without BOM) nor UTF-16/32 with a
        BOM, or a file over :data:`MAX_BYTES`.

    Notes
    -----
    Encodings are not guessed beyond BOMs and UTF-8: a wrong guess (e.g. Latin-1 for a Windows-1252
    page) would silently shift characters, and then the quoted sentences would not be the author's.
    The read is bounded (at most ``MAX_BYTES + 1`` bytes are read whatever the size says), so a
    symlink to ``/dev/zero`` or a growing file cannot exhaust memory.
    """
    import stat

    p = Path(path)
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a folder, not a page", file=str(p))
        # a pipe, device or socket is refused by io.read_bytes, which names what it is
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_BYTES:
            raise InputError(_too_big(st.st_size), file=str(p))
        # the project's one bounded reader: regular files only, stops at the limit
        data = _io.read_bytes(p, limit=MAX_BYTES, kind="page").data
    except FileNotFoundError:
        raise InputError("file not found", file=str(p)) from None
    except PermissionError:
        raise InputError("permission denied; check the file's permissions", file=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=str(p)) from None
    text = decode_page(data, str(p))
    return text, page_format(p, text)


def _too_big(size: int) -> str:
    return (f"the file is {size / 1e6:.1f} MB; the audit reads pages up to "
            f"{MAX_BYTES // (1024 * 1024)} MB. Split it or audit the part that patients read")


def decode_page(data: bytes, name: str = "<input>") -> str:
    """Decode page bytes: UTF-8 (BOM optional) or UTF-16/UTF-32 with a BOM; else :class:`InputError`.

    A NUL anywhere (not only in the first megabyte) makes the file binary: a page with a NUL after
    its first MB was once audited as text.
    """
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                raise InputError(f"starts with a {enc.upper()} byte-order mark but is not valid "
                                 f"{enc.upper()} (byte {exc.start}); re-save it as UTF-8",
                                 file=name) from None
            if "\x00" in text:
                raise InputError("looks like a binary file (NUL characters); give a text, Markdown "
                                 "or HTML page", file=name)
            return text
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"looks like a binary file (a NUL byte at offset {nul}), or UTF-16 without "
                         "a byte-order mark; give a text, Markdown or HTML page saved as UTF-8",
                         file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); the "
                         f"encoding is unknown. Re-save the page as UTF-8", file=name,
                         line=line) from None


# --------------------------------------------------------------------------------------------
# HTML

_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "math",
              "textarea"}
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "title",
               "section", "article", "header", "footer", "nav", "aside", "main", "blockquote",
               "table", "tr", "td", "th", "thead", "tbody", "dd", "dt", "dl", "hr", "figcaption",
               "figure", "pre", "form", "address", "details", "summary", "caption", "option",
               "button", "label", "body", "html", "head"}
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9:-]*)")
_SPACES = re.compile(r"\s+")


class _NextFinder:
    """``text.find(target, pos)`` that never rescans: once a search has failed, every later one
    from a later position fails too, and a found position is reused until ``pos`` passes it.

    This is what keeps tokenising linear on ``<a b <a b ...`` (no ``>`` anywhere after) and on
    ``<!--`` repeated (no ``-->``): each ``<`` would otherwise search to the end of the page.
    """

    def __init__(self, text: str, target: str):
        self.text, self.target, self.at = text, target, -2  # -2: not searched yet

    def find(self, pos: int) -> int:
        if self.at == -1:
            return -1
        if self.at < pos:
            self.at = self.text.find(self.target, pos)
        return self.at


_TITLE_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "th", "dt", "summary", "caption",
               "title"}


def html_to_text(source: str) -> str:
    """The text of an HTML page as the audit reports on it (offsets index into this string).

    See :func:`html_extract`, which also returns the page's headings and emphasised titles.
    """
    return html_extract(source)[0]


def html_extract(source: str) -> tuple[str, frozenset[str]]:
    """The visible text of an HTML page, and the texts of its headings and emphasised titles
    (``h1``-``h6``, ``strong``, ``b``, ``th``, ...), whitespace-normalised, so the audit can tell a
    heading that names a topic from a sentence.

    Tags, comments, ``<script>``, ``<style>`` and similar are dropped; entities are decoded; each block
    element (paragraph, heading, list item, table cell, ``<br>``) starts a new line; source line
    breaks inside a paragraph are spaces, as on screen (except inside ``<pre>``).

    Notes
    -----
    A small tokeniser in the spirit of the HTML standard's (WHATWG HTML, section 13.2.5): a ``<``
    not followed by a tag name, ``/``, ``!`` or ``?`` is text; an unterminated comment or tag runs
    to the end of the page. It is linear in the length of the page (each search resumes where the
    last one stopped; see :class:`_NextFinder`).
    """
    n = len(source)
    gt = _NextFinder(source, ">")
    comment_end = _NextFinder(source, "-->")
    parts: list[str] = []
    skip_until: str | None = None  # inside <script> etc.: the closing tag we wait for
    pre = 0
    pos = 0

    def newline() -> None:
        if parts and not parts[-1].endswith("\n"):
            parts.append("\n")

    def data(chunk: str) -> None:
        if not chunk:
            return
        chunk = html.unescape(chunk)
        if not pre:
            chunk = _SPACES.sub(" ", chunk)
            if not parts or parts[-1].endswith(("\n", " ")):
                chunk = chunk.lstrip(" ")
        if chunk:
            parts.append(chunk)

    titles: set[str] = set()
    open_titles: list[tuple[str, int]] = []  # (tag, index into parts where its text starts)
    lower = None  # lower-cased copy, made only when a skipped element needs its end found
    while pos < n:
        lt = source.find("<", pos)
        if lt < 0:
            if skip_until is None:
                data(source[pos:])
            break
        if skip_until is not None:
            if lower is None:
                lower = source.lower()
            end = lower.find(skip_until, pos)
            if end < 0:
                break  # an unclosed <script>: the rest is script
            close = gt.find(end)
            pos = n if close < 0 else close + 1
            skip_until = None
            continue
        data(source[pos:lt])
        nxt = source[lt + 1:lt + 2]
        if source.startswith("<!--", lt):
            end = comment_end.find(lt + 4)
            pos = n if end < 0 else end + 3
            continue
        if nxt in ("!", "?"):  # doctype, CDATA, processing instruction
            close = gt.find(lt)
            pos = n if close < 0 else close + 1
            continue
        m = _TAG_NAME.match(source, lt)
        if not m:
            data("<")  # "a < b": a bracket that opens no tag is text
            pos = lt + 1
            continue
        close = gt.find(m.end())
        if close < 0:
            break  # an unterminated tag swallows the rest, as in a browser
        tag = m.group(1).lower()
        closing = source[lt + 1] == "/"
        self_closing = source[close - 1] == "/"
        if not closing and tag in _SKIP_TAGS and not self_closing:
            skip_until = f"</{tag}"
        elif tag == "pre":
            pre = max(0, pre + (-1 if closing else 1))
        if tag in _TITLE_TAGS and not self_closing:
            if not closing:
                open_titles.append((tag, len(parts)))
            elif open_titles and open_titles[-1][0] == tag:
                _t, at = open_titles.pop()
                title = " ".join("".join(parts[at:]).split())
                if title:
                    titles.add(title)
        if tag in _BLOCK_TAGS:
            newline()
        pos = close + 1
    text = "".join(parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n "), frozenset(titles)


# --------------------------------------------------------------------------------------------
# Markdown

# Each pattern stops a failed attempt at the next place a new one could start ([^<>\n], [^\[\]\n]),
# so a line of 80,000 "[" or "<" costs one pass, not one pass per bracket.
_MD_FENCE = re.compile(r"^(?:```|~~~).*?(?:^(?:```|~~~)[^\n]*$|\Z)", re.M | re.S)
_MD_TAG = re.compile(r"<[^<>\n]+>")
_MD_LINE_MARK = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|>[ \t]?|[-*+][ \t]|\d{1,3}[.)][ \t])", re.M)
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(([^()\n]*)\)")
_MD_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")


def markdown_scan(text: str) -> str:
    """A same-length copy of Markdown with the markup blanked, so cues see words, not syntax.

    Code blocks, HTML comments and tags, heading/quote/list markers, link targets and emphasis
    marks become spaces (line breaks are kept), so every offset into the copy is an offset into
    ``text``. Linear in the length of the text.
    """
    chars = list(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if chars[k] != "\n":
                chars[k] = " "

    for m in _MD_FENCE.finditer(text):
        blank(m.start(), m.end())  # code is not prose
    comment_end = _NextFinder(text, "-->")
    pos = text.find("<!--")
    while pos >= 0:
        end = comment_end.find(pos + 4)
        stop = len(text) if end < 0 else end + 3
        blank(pos, stop)
        pos = text.find("<!--", stop) if end >= 0 else -1
    for m in _MD_TAG.finditer(text):
        blank(m.start(), m.end())
    for m in _MD_LINE_MARK.finditer(text):
        blank(m.start(), m.end())
    for m in _MD_LINK.finditer(text):
        blank(m.start(), m.start(1))
        blank(m.end(1), m.end())
    for m in _MD_EMPHASIS.finditer(text):
        blank(m.start(), m.end())
    return "".join(chars)
