"""Sentence units: where a page's sentences start and end, and which lines are reference entries.

Offsets index into the scan copy (the text, or the Markdown with its markup blanked), which has the
same length as the text, so a unit's offsets are the sentence's offsets in the page as read.
"""
from __future__ import annotations

import re

from .lexicon import Lexicon

__all__ = ["MAX_SENTENCE", "sentence_spans", "reference_lines", "mask_titles"]

#: Longest sentence unit read as one; longer runs without a sentence end are cut at a space.
MAX_SENTENCE = 2000

_TITLE = re.compile(r"(?:the\s+)?[A-Z][\w'-]*(?:(?:\s+(?:of|and|&|in|for|the|on))*\s+[A-Z][\w'-]*)*")


def mask_titles(unit: str, lead_ins: list[re.Match]) -> str:
    """Blank journal names after "published in" and the like: "the Journal of Orthopaedic & Sports
    Physical Therapy" says nothing about sport or pain, but its words would match topics."""
    chars = list(unit)
    for m in lead_ins:
        j = m.end()
        while j < len(unit) and unit[j] in " \t":
            j += 1
        t = _TITLE.match(unit, j)
        if t:
            for k in range(t.start(), t.end()):
                chars[k] = " "
    return "".join(chars)


_SPACE_RUN = re.compile(r"\s+")
_TERMINAL = re.compile(r"[.!?]+[\"')\]]*")
_LINE_START_MARKER = re.compile(r"[ \t]*(?:[\u2022\u00b7\u25aa\u25cf*+\-][ \t]+|\d{1,3}[.)][ \t]+)")
_CONTINUES = re.compile(r"(?:[,;(\-]|\b(?:and|or|the|of|in|to|a|an|with|for|by|that|than))\s*$", re.I)


def sentence_spans(scan: str, lex: Lexicon) -> list[tuple[int, int]]:
    """Sentence units as (start, end) offsets: split at sentence ends and at line breaks that end a
    line of its own (headings, list items), not at hard wraps inside a paragraph."""
    units: list[tuple[int, int]] = []
    # 1. blocks: lines, joined where a line clearly continues on the next one (hard wrap)
    lines = []
    pos = 0
    for raw in scan.split("\n"):
        lines.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    blocks: list[list[int]] = []
    prev_end = None
    for a, b in lines:
        seg = scan[a:b]
        if not seg.strip():
            prev_end = None
            continue
        marker = _LINE_START_MARKER.match(seg)
        starts_lower = seg.lstrip()[:1].islower()
        tail = scan[max(blocks[-1][0], prev_end - 40):prev_end].rstrip() if blocks and prev_end else ""
        joined = (prev_end is not None and blocks and not marker
                  and (starts_lower or _CONTINUES.search(tail) is not None)
                  and not tail.endswith((".", "!", "?", ":")))
        if joined:
            blocks[-1][1] = b
        else:
            if marker:
                a += marker.end()
            blocks.append([a, b])
        prev_end = b
    # 2. sentences inside a block
    for a, b in blocks:
        start = a
        for m in _TERMINAL.finditer(scan, a, b):
            end = m.end()
            # the next word after any run of spaces: two spaces after a full stop (typewriter
            # style) still end a sentence
            gap = _SPACE_RUN.match(scan, end, b)
            after = scan[gap.end():gap.end() + 1] if gap else ""
            if end < b and not (gap and after and (after.isupper() or after.isdigit()
                                                   or after in "\"'([\u2022")):
                continue
            if m.group(0).startswith(".") and len(m.group(0).rstrip("\"')]")) == 1:
                word = re.search(r"(\S+)$", scan[max(start, m.start() - 40):m.start() + 1])
                w = word.group(1).lower().lstrip("(\"'") if word else ""
                # "vs.", "e.g.", initials such as "E." do not end a sentence
                if w in lex.abbreviations or re.fullmatch(r"[a-z]\.", w):
                    continue
            units.append((start, end))
            start = end
        if start < b:
            units.append((start, b))
    out = []
    for s, e in units:
        # A run of text with no sentence end for pages on end (a list flattened into one line, a
        # data dump) is cut at spaces, so no "sentence" makes the per-sentence reading slow.
        while e - s > MAX_SENTENCE:
            cut = scan.rfind(" ", s + MAX_SENTENCE // 2, s + MAX_SENTENCE)
            cut = cut if cut > s else s + MAX_SENTENCE
            units_cut = _trim(scan, s, cut)
            if units_cut:
                out.append(units_cut)
            s = cut
        trimmed = _trim(scan, s, e)
        if trimmed:
            out.append(trimmed)
    return out


def _trim(scan: str, s: int, e: int) -> tuple[int, int] | None:
    seg = scan[s:e]
    s2 = s + (len(seg) - len(seg.lstrip()))
    e2 = e - (len(seg) - len(seg.rstrip()))
    return (s2, e2) if e2 > s2 else None


_HEADING_MARKUP = re.compile(r"^[\s#*_>=\-]+|[\s#*_:=\-]+$")


def reference_lines(scan: str, lex: Lexicon) -> list[tuple[int, int]]:
    """(start, end) of the lines that are reference-list entries, in page order.

    A line is an entry when it has the shape of a citation (``citation_shapes``: "2013;43(9):620",
    a DOI, a Vancouver author list), or when it follows a ``reference_headings`` heading
    ("References") and no other heading has come since. A heading is a short line with no
    sentence end. One pass over the lines, so linear in the length of the page.
    """
    if not lex.reference_headings and not lex.citation_shapes:
        return []
    out: list[tuple[int, int]] = []
    in_refs = False
    pos = 0
    for raw in scan.split("\n"):
        a, b = pos, pos + len(raw)
        pos = b + 1
        line = raw.strip()
        if not line:
            continue
        short = len(line) <= 80  # headings are short; long lines are never stripped of markup
        name = " ".join(_HEADING_MARKUP.sub("", line).lower().split()) if short else ""
        if name in lex.reference_headings:
            in_refs = True
            continue
        shaped = any(rx.search(raw) for rx in lex.citation_shapes)
        if in_refs and not shaped and short and not line.endswith((".", "!", "?", ";")):
            in_refs = False  # the next heading ends the list
        if shaped or in_refs:
            out.append((a, b))
    return out

