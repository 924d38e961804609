"""BibTeX in: a ``.bib`` file read into :class:`~evidencekit.evidence.references.Reference` records.

BibTeX is read with bibtexparser 2 into frozen :class:`Reference` records; every problem the parser
meets (a block it could not parse, a duplicate key, a field given twice, stray text) becomes an
:class:`~evidencekit.errors.Message` with the file and line, so ``evidencekit validate`` can list
them next to the YAML findings. LaTeX in the values is decoded by :mod:`evidencekit.evidence.latex`;
formatting the references is :mod:`evidencekit.evidence.references`.

Nothing here depends on pydantic or on the study records: a bibliography is useful on its own.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import InputError, Message
from .latex import latex_to_text
from .references import Reference



__all__ = ["BibtexParse", "parse_bibtex", "load_bibtex", "MAX_BIB_ENTRIES", "MAX_BIB_MESSAGES"]

@dataclass(frozen=True)
class BibtexParse:
    """What :func:`parse_bibtex` found: the usable references and every problem, with lines."""

    references: dict[str, Reference]
    messages: tuple[Message, ...] = ()
    #: Keys of entries that are in the file but could not be read (already reported as errors),
    #: so that a caller does not report them a second time as missing.
    broken_keys: frozenset[str] = frozenset()
    #: False when the file was refused as a whole (too many blocks, a parser crash): then no
    #: entry was read, and a caller should not report each study as missing from it.
    read: bool = True

    @property
    def errors(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.severity == "error")

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.severity == "warning")


def _initials(given: str) -> str:
    """``"Yueh Ling"`` -> ``"YL"``; ``"Jean-Pierre"`` -> ``"JP"``; ``"S. S."`` -> ``"SS"``.

    Notes
    -----
    Citing Medicine (NLM, 2nd ed., ch. 1 "Author"): initials without stops or spaces, and hyphenated
    given names give one initial per part without the hyphen.
    """
    out = []
    for word in given.replace(".", ". ").split():
        out.extend(p[0].upper() for p in word.strip(".").split("-") if p)
    return "".join(out)


def _parse_authors(raw: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], bool]:
    from bibtexparser.middlewares.names import (
        InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names)

    vancouver: list[str] = []
    parts: list[tuple[str, str]] = []
    incomplete = False
    for person in split_multiple_persons_names(raw):
        person = person.strip()
        if not person:
            continue
        if person.lower() == "others":
            incomplete = True
            continue
        if person.startswith("{") and person.endswith("}"):
            # {World Health Organization}: a corporate author, kept whole.
            name = latex_to_text(person)
            vancouver.append(name)
            parts.append((name, ""))
            continue
        try:
            name_parts = parse_single_name_into_parts(person)
        except InvalidNameError:
            name = latex_to_text(person)
            vancouver.append(name)
            parts.append((name, ""))
            continue
        family = latex_to_text(" ".join(name_parts.von + name_parts.last))
        if name_parts.jr:
            family = f"{family} {latex_to_text(' '.join(name_parts.jr))}"
        given = latex_to_text(" ".join(name_parts.first))
        initials = _initials(given)
        vancouver.append(f"{family} {initials}" if initials else family)
        parts.append((family, given))
    return tuple(vancouver), tuple(parts), incomplete


@contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    # bibtexparser logs each block it abandons; those become Messages with a file and line
    # instead, so its own log line would only repeat them without saying which file.
    names = ["bibtexparser", "bibtexparser.splitter"] + [
        n for n in list(logging.root.manager.loggerDict) if n.startswith("bibtexparser.")]
    loggers = [logging.getLogger(n) for n in dict.fromkeys(names)]
    before = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, before):
            lg.disabled = was


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = latex_to_text(str(value))
    return text or None


def _year(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*\{?(\d{4})\}?\s*", str(value))
    return int(match.group(1)) if match else None


def _doi(value: str | None) -> str | None:
    text = _clean(value)
    if text is None:
        return None
    return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text, flags=re.IGNORECASE)


#: Most entries read from one .bib file. A review's bibliography has tens to a few thousand; a file
#: with more blocks than this is the wrong file (and bibtexparser needs minutes and gigabytes on a
#: million broken ones, e.g. 3.6 MB of ``@a{``), so it is refused before parsing.
MAX_BIB_ENTRIES = 20_000

#: Most problems listed for one .bib file; the rest are counted in one summary line.
MAX_BIB_MESSAGES = 100

_BLOCK_START = re.compile(r"@\s*[A-Za-z]+\s*[{(]")

# BibTeX's standard month macros (plain.bst).
_MONTHS = {m[:3]: m for m in ("january", "february", "march", "april", "may", "june", "july",
                              "august", "september", "october", "november", "december")}


class _ValueError(Exception):
    """A field value that cannot be resolved (undefined or recursive macro, broken syntax)."""


def _split_value(raw: str) -> list[tuple[str, str]]:
    """A raw BibTeX value as pieces: ``("text", ...)`` for {..}/"..."/digits, ``("macro", name)``.

    Pieces are joined by ``#`` (BibTeX concatenation). Braces inside a piece must balance.
    """
    pieces: list[tuple[str, str]] = []
    i, n = 0, len(raw)
    expect_piece = True
    while i < n:
        ch = raw[i]
        if ch.isspace():
            i += 1
            continue
        if not expect_piece:
            if ch != "#":
                raise _ValueError(f"unexpected {raw[i:i + 20]!r} after a value; join parts with "
                                  "'#' or put the whole value in braces")
            expect_piece = True
            i += 1
            continue
        if ch in "{\"":
            depth, j = 0, i
            while j < n:
                c = raw[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth < 0:
                        raise _ValueError("a '}' closes more braces than were opened")
                    if depth == 0 and ch == "{":
                        break
                elif c == '"' and ch == '"' and j > i and depth == 0:
                    break
                j += 1
            else:
                raise _ValueError("the value's braces or quotes do not close")
            pieces.append(("text", raw[i + 1:j]))
            i = j + 1
        else:
            m = re.match(r"[^\s#{}\"=,]+", raw[i:])
            if not m:
                raise _ValueError(f"unexpected {raw[i:i + 20]!r}; put the value in braces")
            word = m.group()
            pieces.append(("text", word) if word.isdigit() else ("macro", word))
            i += len(word)
        expect_piece = False
    if expect_piece:
        raise _ValueError("a '#' is not followed by a value" if pieces else "the value is empty")
    return pieces


class _Macros:
    """@string definitions, resolved lazily with cycle detection (BibTeX names ignore case)."""

    def __init__(self, raw: dict[str, tuple[str, int | None]]):
        self.raw = raw  # folded name -> (raw value, line)
        self.done: dict[str, str] = {}

    def resolve(self, name: str, stack: tuple[str, ...] = ()) -> str:
        folded = name.lower()
        if folded in self.done:
            return self.done[folded]
        if folded in stack:
            chain = " -> ".join((*stack, folded))
            raise _ValueError(f"the @string macros refer to each other in a loop ({chain}); "
                              "give one of them a value in braces")
        if folded not in self.raw:
            if folded in _MONTHS:
                return _MONTHS[folded].capitalize()
            raise _ValueError(f"'{name}' is not defined: a bare word is an @string macro name. "
                              f"Put text in braces ({{{name}}}) or define @string{{{name} = "
                              "{...}}")
        value = self.text(self.raw[folded][0], (*stack, folded))
        self.done[folded] = value
        return value

    def text(self, raw: str, stack: tuple[str, ...] = ()) -> str:
        if len(stack) > 50:
            raise _ValueError("the @string macros nest more than 50 deep")
        return "".join(v if kind == "text" else self.resolve(v, stack)
                       for kind, v in _split_value(raw))


def _lost_fields(comment: str) -> list[str]:
    """Field names in text that follows an entry closed too early (``, journal = {..}, year=..``)."""
    return re.findall(r"(?:^|[,\s])([A-Za-z][\w-]*)\s*=", comment)


def parse_bibtex(text: str, file: str | None = "references.bib") -> BibtexParse:
    """Parse BibTeX text into references, reporting every problem with its line.

    Parameters
    ----------
    text
        The BibTeX source.
    file
        Name used in messages (the path as the user gave it).

    Returns
    -------
    BibtexParse
        ``references`` (by key, in file order) and ``messages``. Errors: blocks bibtexparser could
        not parse, duplicate keys (also when they differ only in case, as BibTeX keys are
        case-insensitive), fields given twice. Warnings: text outside any entry that looks like
        a broken entry, entries without a title, authors or a four-digit year.
    """
    import bibtexparser
    from bibtexparser import model

    messages: list[Message] = []
    broken: set[str] = set()

    def error(line: int | None, fieldname: str | None, msg: str) -> None:
        messages.append(Message(file, line, fieldname, msg))

    def warning(line: int | None, fieldname: str | None, msg: str) -> None:
        messages.append(Message(file, line, fieldname, msg, severity="warning"))

    starts = sum(1 for _ in _BLOCK_START.finditer(text))
    if starts > MAX_BIB_ENTRIES:
        error(None, None, f"the file has {starts:,} blocks starting with '@', more than the "
                          f"{MAX_BIB_ENTRIES:,} a review's bibliography needs; is it the right "
                          "file? Keep one entry per study")
        return BibtexParse({}, tuple(messages), read=False)
    try:
        with _quiet_bibtexparser():
            # No middlewares: values stay raw ({...}, "...", macro names, '#' joins), so that
            # @string use is resolved and checked here rather than left as literal text.
            library = bibtexparser.parse_string(text, parse_stack=[])
    except Exception as exc:  # noqa: BLE001 - a third-party parser crash is still bad input
        error(None, None, f"bibtexparser could not read this file ({type(exc).__name__}: {exc}); "
                          "check that it is BibTeX and that braces and quotes are balanced")
        return BibtexParse({}, tuple(messages), read=False)

    macros = _Macros({})
    for block in library.strings:
        line = block.start_line + 1 if block.start_line is not None else None
        macros.raw[block.key.lower()] = (str(block.value), line)
    for folded, (raw, line) in macros.raw.items():
        try:
            macros.resolve(folded)
        except _ValueError as exc:
            error(line, f"@string.{folded}", f"@string {folded}: {exc}")
            macros.done[folded] = ""

    for block in library.failed_blocks:
        line = block.start_line + 1 if block.start_line is not None else None
        if isinstance(block, model.DuplicateBlockKeyBlock):
            first = getattr(block, "previous_block", None)
            where = (f" (first defined on line {first.start_line + 1})"
                     if first is not None and first.start_line is not None else "")
            error(line, block.key, f"duplicate BibTeX key '{block.key}'{where}; every entry needs "
                                   "its own key: delete the copy or give it a new key")
        elif isinstance(block, model.DuplicateFieldKeyBlock):
            keys = ", ".join(sorted(block.duplicate_keys))
            entry = block.ignore_error_block
            key = getattr(entry, "key", None)
            if key:
                broken.add(key)
            error(line, key, f"entry '{key}' gives field(s) {keys} more than once; keep one")
        else:
            exc = getattr(block, "error", None)
            reason = str(getattr(exc, "abort_reason", None) or getattr(exc, "message", None)
                         or exc or "").strip()
            reason = reason.splitlines()[0].rstrip(".") if reason else (
                type(exc).__name__ if exc is not None else "syntax error")
            raw_key = re.match(r"\s*@\w+\s*[{(]\s*([^,\s={}()]+)", block.raw or "")
            if raw_key:
                broken.add(raw_key.group(1))
            error(line, raw_key.group(1) if raw_key else None,
                  f"BibTeX block could not be parsed: {reason}. Check the braces, the "
                              "quotes, and the comma after the key and after each field")

    previous: model.Block | None = None
    for block in library.blocks:
        if not isinstance(block, model.ImplicitComment):
            previous = block
            continue
        lost = _lost_fields(block.comment)
        if isinstance(previous, model.Entry) and (lost or block.comment.lstrip().startswith(",")):
            # An extra '}' closed the entry early; bibtexparser keeps the fields before it and
            # reads the rest as a comment, so journal, year, doi... would vanish with a warning.
            closed = (previous.start_line or 0) + (previous.raw or "").count("\n") + 1
            broken.add(previous.key)
            what = f"field(s) {', '.join(lost)}" if lost else "the fields after it"
            error(closed, previous.key,
                  f"an extra '}}' on this line closes entry '{previous.key}' early, so "
                  f"{what} would be lost; remove the extra '}}' (braces in a value must "
                  "balance)")
            previous = block
            continue
        previous = block
        # Text between entries is a BibTeX comment; '%' lines are the usual way to write one.
        # Warn only when the text looks like a broken entry (an entry missing its '@', say).
        stray = [ln for ln in block.comment.splitlines() if ln.strip()
                 and not ln.lstrip().startswith("%")]
        if any(ch in ln for ln in stray for ch in "@{}="):
            snippet = stray[0].strip()[:60]
            warning(block.start_line + 1, None,
                    f"text outside any entry is ignored ({snippet!r}); if it is an entry, start it "
                    "with @article{key, ... or delete it")

    references: dict[str, Reference] = {}
    seen_folded: dict[str, str] = {}
    for entry in library.entries:
        line = entry.start_line + 1 if entry.start_line is not None else None
        key = entry.key
        fields = {}
        for name, f in entry.fields_dict.items():
            try:
                fields[name.lower()] = macros.text(str(f.value))
            except _ValueError as exc:
                # A value that cannot be read is an error, not literal text in the reference.
                broken.add(key)
                error(line, f"{key}.{name.lower()}", f"entry '{key}', field '{name}': {exc}")
        folded = key.lower()
        if folded in seen_folded:
            error(line, key, f"BibTeX key '{key}' differs from '{seen_folded[folded]}' only in case; "
                             "BibTeX treats them as the same key: delete or rename one")
            continue
        seen_folded[folded] = key
        authors, author_parts, incomplete = (
            _parse_authors(fields["author"]) if fields.get("author") else ((), (), False))
        pmid = fields.get("pmid")
        if pmid is None and str(fields.get("eprinttype", "")).lower() == "pubmed":
            pmid = fields.get("eprint")
        ref = Reference(
            key=key,
            entry_type=entry.entry_type.lower(),
            title=_clean(fields.get("title")),
            authors=authors,
            journal=_clean(fields.get("journal") or fields.get("journaltitle")
                           or fields.get("booktitle")),
            year=_year(fields.get("year")),
            volume=_clean(fields.get("volume")),
            issue=_clean(fields.get("number") or fields.get("issue")),
            pages=(_clean(fields.get("pages")) or "").replace("\u2013", "-") or None,
            doi=_doi(fields.get("doi")),
            pmid=_clean(pmid),
            pmcid=_clean(fields.get("pmcid")),
            url=_clean(fields.get("url")),
            line=line,
            author_parts=author_parts,
            authors_incomplete=incomplete,
            note=_clean(fields.get("note")),
        )
        if key in broken:
            # Its fields were lost to a brace or macro error, already reported: a "no year"
            # warning on top would call an error a mere gap.
            references[key] = ref
            continue
        if not ref.title:
            # A title the sources do not give stays missing (never filled in from memory); the
            # formatted reference then lacks it, which a reader should know about.
            warning(line, f"{key}.title", f"entry '{key}' has no title; add title = {{...}} as "
                                          "printed in the paper once a source shows it")
        if not ref.authors:
            warning(line, f"{key}.author", f"entry '{key}' has no authors; add "
                                           "author = {Surname, Given and Surname, Given}")
        if ref.year is None:
            got = fields.get("year")
            detail = f" (got {got!r})" if got is not None else ""
            warning(line, f"{key}.year", f"entry '{key}' has no four-digit year{detail}; add "
                                         "year = {YYYY}")
        if ref.doi is not None and not ref.doi.startswith("10."):
            warning(line, f"{key}.doi", f"DOI {ref.doi!r} does not start with '10.'; give the DOI "
                                        "itself, e.g. 10.1016/j.math.2015.08.004")
        references[key] = ref
    messages.sort(key=lambda m: (m.line is None, m.line or 0))
    if len(messages) > MAX_BIB_MESSAGES:
        rest = messages[MAX_BIB_MESSAGES:]
        errors_left = sum(1 for m in rest if m.severity == "error")
        messages = messages[:MAX_BIB_MESSAGES]
        messages.append(Message(file, None, None,
                                f"... and {len(rest):,} more problem(s) in this file "
                                f"({errors_left:,} error(s)) not listed; fix those above and run "
                                "`evidencekit validate` again",
                                severity="error" if errors_left else "warning"))
    return BibtexParse(references, tuple(messages), frozenset(broken))


def load_bibtex(path: str | Path) -> dict[str, Reference]:
    """Read a ``.bib`` file into references by key.

    Raises
    ------
    InputError
        When the file cannot be read as UTF-8 text or has BibTeX errors (see :func:`parse_bibtex`).
    """
    from ..io import MAX_EVIDENCE_BYTES, read_text

    path = Path(path)
    text = read_text(path, limit=MAX_EVIDENCE_BYTES, kind="BibTeX file")
    parsed = parse_bibtex(text, file=str(path))
    if parsed.errors:
        first = parsed.errors[0]
        more = f" (and {len(parsed.errors) - 1} more)" if len(parsed.errors) > 1 else ""
        raise InputError(first.message + more, file=first.file, line=first.line, field=first.field)
    return parsed.references
