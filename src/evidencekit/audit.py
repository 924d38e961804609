"""Audit an existing patient page: which sentences claim more than the evidence supports.

The audit reads a page (plain text, Markdown or HTML), splits it into sentences and, for every
sentence that makes a health claim about the treatment, finds the question(s) it speaks to, measures
how strongly it is worded on the wording ladder of :mod:`evidencekit.claims`, and compares that with
the claim the evidence allows for the question. It gives one of five verdicts:

``supported``
    worded no stronger than the certainty allows (and in the direction of the evidence);
``overstated``
    stronger than the certainty allows, or an absolute ("proves", "all participants", "safe");
``unsupported``
    no evidence in the library speaks to it (e.g. a promised number of sessions);
``contradicted``
    claims a benefit where the evidence found no difference (or harm), or claims dry needling beats a
    comparator the evidence found it no better than;
``mechanism-as-fact``
    a hypothesised mechanism stated as established.

Sentences that describe the procedure, the clinic or logistics are not claims and are not reported.
All rules are data (``data/audit_lexicon.yaml``, see docs/audit.md); there is no statistical model.
The audit never rates certainty itself: it reads ``certainty`` and ``direction`` from the claims.
"""
from __future__ import annotations

import bisect
import codecs
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from . import io as _io
from .errors import InputError

__all__ = [
    "VERDICTS", "Finding", "AuditReport", "Lexicon", "audit_text", "read_page", "html_to_text",
    "load_lexicon", "MAX_BYTES",
]

#: The verdicts, in the order a sentence that speaks to several questions is labelled by default.
VERDICTS = ("contradicted", "mechanism-as-fact", "overstated", "unsupported", "supported")

#: Largest page read. 10 MB pages are audited (the audit is linear in the length of the text); past
#: this a page is not a patient page, and reading it would only tie up memory, so it is refused.
MAX_BYTES = _io.MAX_PAGE_BYTES

#: Longest sentence unit read as one; longer runs without a sentence end are cut at a space.
MAX_SENTENCE = 2000

_LADDER_NAMES = ("very uncertain", "may", "probably", "plain", "absolute")
_DEFAULT_GAP = 6  # " ... " in a phrase: up to 6 words in between
_MAX_GAP = 12     # " ...N " with N at most this (bounded, so every phrase stays linear to search)
_GAP_MARK = re.compile(r"\.\.\.(\d*)")


def _gap(n: int) -> str:
    """Regex for a gap of up to ``n`` words between two parts of a phrase."""
    return r"\W+" if n == 0 else r"(?:\W+\w+){0,%d}?\W+" % n


_FORMATS = ("text", "markdown", "html")
# One-for-one replacements, so offsets into the scanned copy are offsets into the text.
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                            "\u2013": "-", "\u2014": "-", "\u00a0": " "})


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Finding:
    """One health-claim sentence and its verdict.

    ``start``/``end`` index into :attr:`AuditReport.text` (``text == report.text[start:end]``).
    ``evidence`` lists the records (``study#result``) and BibTeX keys behind the claim it was judged
    against; ``questions`` the question ids; ``cues`` the lexicon phrases that decided the verdict.
    ``strength`` is the wording's rung (0-3, 4 = absolute) and ``allowed`` the highest rung the
    evidence allows (``None`` where no claim applies).
    """

    start: int
    end: int
    text: str
    verdict: str
    reason: str
    suggestion: str
    evidence: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    line: int = 1
    strength: int | None = None
    allowed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN.md keys first (``start, end, text, verdict, reason, suggestion, evidence``)."""
        return {"start": self.start, "end": self.end, "text": self.text, "verdict": self.verdict,
                "reason": self.reason, "suggestion": self.suggestion, "evidence": list(self.evidence),
                "questions": list(self.questions), "cues": list(self.cues), "line": self.line,
                "strength": self.strength, "allowed": self.allowed}


@dataclass(frozen=True)
class AuditReport:
    """The findings for one page.

    Attributes
    ----------
    text
        The text the offsets index into: the page as read for text and Markdown, the text after tag
        stripping for HTML.
    findings
        One :class:`Finding` per health-claim sentence, in page order.
    source_format
        ``text``, ``markdown`` or ``html``.
    sentences
        How many sentence units were read (claims or not).
    lexicon
        Where the rules came from.
    """

    text: str
    findings: tuple[Finding, ...]
    source_format: str = "text"
    sentences: int = 0
    lexicon: str = "builtin"

    def counts(self) -> dict[str, int]:
        """Findings per verdict (every verdict present, zero or not)."""
        out = {v: 0 for v in ("supported", "overstated", "unsupported", "contradicted",
                              "mechanism-as-fact")}
        for f in self.findings:
            out[f.verdict] += 1
        return out

    @property
    def not_supported(self) -> int:
        """Number of findings whose verdict is anything but ``supported`` (``--strict`` fails on these)."""
        return sum(1 for f in self.findings if f.verdict != "supported")

    def to_dict(self) -> dict[str, Any]:
        """``{"findings": [...], "summary": {...}}`` (DESIGN.md contract)."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": {"sentences": self.sentences, "claims": len(self.findings),
                        "not_supported": self.not_supported, "verdicts": self.counts(),
                        "source_format": self.source_format, "lexicon": self.lexicon},
        }

    def to_frame(self):
        """One row per finding (pandas DataFrame), with the columns of :meth:`Finding.to_dict`."""
        import pandas as pd

        cols = ["start", "end", "line", "verdict", "text", "reason", "suggestion", "evidence",
                "questions", "cues", "strength", "allowed"]
        rows = []
        for f in self.findings:
            d = f.to_dict()
            for key in ("evidence", "questions", "cues"):
                d[key] = ", ".join(d[key])
            rows.append(d)
        return pd.DataFrame(rows, columns=cols)

    def summary(self, width: int = 100) -> str:
        """A table a person can read in a terminal: one block per finding, then the counts."""
        import textwrap

        c = self.counts()
        head = (f"{len(self.findings)} health-claim sentence(s) in {self.sentences} sentence(s) "
                f"read ({self.source_format}); " +
                ", ".join(f"{n} {v}" for v, n in c.items() if n) if self.findings else
                f"No health claims found in {self.sentences} sentence(s) read ({self.source_format}).")
        lines = [head]
        if not self.findings:
            return head
        lines.append("")
        lines.append(f"{'#':>3}  {'line':>5}  {'verdict':<17}  sentence")
        lines.append(f"{'-' * 3}  {'-' * 5}  {'-' * 17}  {'-' * max(10, width - 31)}")
        body_width = max(40, width - 31)
        pad = " " * 31  # under the "sentence" column
        for i, f in enumerate(self.findings, 1):
            text = " ".join(f.text.split())
            wrapped = textwrap.wrap(text, body_width) or [""]
            lines.append(f"{i:>3}  {f.line:>5}  {f.verdict:<17}  {wrapped[0]}")
            lines += [pad + w for w in wrapped[1:]]
            for label, value in (("why", f.reason), ("instead", f.suggestion),
                                 ("studies", ", ".join(dict.fromkeys(
                                     e.split("#")[0] for e in f.evidence)) or "-")):
                sub = textwrap.wrap(value, body_width - 10) or ["-"]
                lines.append(f"{pad}{label + ':':<10}{sub[0]}")
                lines += [pad + " " * 10 + s for s in sub[1:]]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self, title: str = "evidencekit audit") -> str:
        """A standalone HTML page: the text with findings highlighted and explained on hover.

        Everything from the page and the evidence is escaped with :func:`html.escape`; the page loads
        nothing (no scripts, fonts or images), so it can be opened offline and cannot phone home.
        """
        esc = html.escape
        parts: list[str] = []
        pos = 0
        for i, f in enumerate(self.findings, 1):
            if f.start < pos:  # cannot happen with sentence units, but never emit broken markup
                continue
            parts.append(esc(self.text[pos:f.start]))
            tip = (f"{f.verdict}: {f.reason}\nInstead: {f.suggestion}"
                   + (f"\nEvidence: {', '.join(f.evidence)}" if f.evidence else ""))
            parts.append(f'<mark id="f{i}" class="v-{esc(f.verdict)}" title="{esc(tip)}">'
                         f'{esc(self.text[f.start:f.end])}<sup>{i}</sup></mark>')
            pos = f.end
        parts.append(esc(self.text[pos:]))
        rows = "\n".join(
            f'<tr class="v-{esc(f.verdict)}"><td><a href="#f{i}">{i}</a></td><td>{f.line}</td>'
            f"<td>{esc(f.verdict)}</td><td>{esc(f.text)}</td><td>{esc(f.reason)}</td>"
            f"<td>{esc(f.suggestion)}</td><td>{esc(', '.join(f.evidence))}</td></tr>"
            for i, f in enumerate(self.findings, 1))
        counts = ", ".join(f"{n} {esc(v)}" for v, n in self.counts().items() if n) or "no claims"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }}
.page {{ white-space: pre-wrap; border: 1px solid #ccc; padding: 1rem; }}
mark {{ border-radius: 3px; padding: 0 2px; cursor: help; }}
mark sup {{ font-size: 0.7em; margin-left: 2px; }}
.v-supported {{ background: #d9f2d9; }}
.v-overstated {{ background: #ffe0a3; }}
.v-unsupported {{ background: #e3e3e3; }}
.v-contradicted {{ background: #ffb3b3; }}
.v-mechanism-as-fact {{ background: #d9d2f7; }}
table {{ border-collapse: collapse; margin-top: 1.5rem; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }}
</style></head>
<body>
<h1>{esc(title)}</h1>
<p>{len(self.findings)} health-claim sentence(s): {counts}. Hover over a highlighted sentence for the
reason and a rewrite the evidence allows.</p>
<p>Colours: <mark class="v-supported">supported</mark> <mark class="v-overstated">overstated</mark>
<mark class="v-unsupported">unsupported</mark> <mark class="v-contradicted">contradicted</mark>
<mark class="v-mechanism-as-fact">mechanism-as-fact</mark></p>
<div class="page">{''.join(parts)}</div>
<table><thead><tr><th>#</th><th>line</th><th>verdict</th><th>sentence</th><th>why</th>
<th>the evidence allows</th><th>evidence</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


# ---------------------------------------------------------------------------------------------
# lexicon


class _Phrases:
    """One lexicon section: its phrases, each compiled on its own (see :class:`_Index`)."""

    def __init__(self, phrases: Iterable[str], where: str, file: str | None,
                 keys: Mapping[str, str] | None = None):
        self.where = where
        # phrase -> the word it must start with, for `re:` phrases built from words (comparators)
        self.keys = dict(keys or {})
        self.phrases = tuple(dict.fromkeys(p for p in phrases if p))
        self.entries: list[tuple[str, re.Pattern]] = []
        for i, p in enumerate(self.phrases):
            try:
                rx = re.compile(_phrase_regex(p), re.I)
            except (re.error, ValueError) as exc:
                raise InputError(f"bad phrase {p!r}: {exc}", file=file, field=f"{where}[{i}]") from None
            self.entries.append((p, rx))
        alts = "|".join(f"(?:{rx.pattern})" for _, rx in
                        sorted(self.entries, key=lambda e: len(e[0]), reverse=True))
        # Used only on short strings (a few words); whole sentences go through _Index.
        self.regex = re.compile(alts, re.I) if alts else None

    def search(self, text: str) -> re.Match | None:
        return self.regex.search(text) if self.regex else None


_WORD = re.compile(r"\w+")


class _Index:
    """All phrases of all sections, indexed by their first word.

    A regex alternation of a few hundred phrases costs (characters x phrases) in Python's engine:
    minutes for a 10 MB page. Looking up each word of a sentence in a dict of first words, and trying
    only the phrases that start with it, keeps the audit linear in the length of the page.
    """

    def __init__(self, groups: Iterable[_Phrases]):
        Entry = tuple[_Phrases, re.Pattern, frozenset]
        self.exact: dict[str, list[Entry]] = {}
        self.prefix: dict[str, list[Entry]] = {}
        self.raw: list[tuple[_Phrases, re.Pattern]] = []
        for g in groups:
            for phrase, rx in g.entries:
                key = g.keys.get(phrase)
                first = key if key is not None else (
                    phrase.split()[0] if not phrase.startswith("re:") else "")
                lead = re.match(r"\w+", first.translate(_NORMALISE))
                # The whole words a plain phrase needs ("pain* ...3 gone" needs "gone"): a sentence
                # without one of them cannot match, so its regex is not tried there.
                needs = frozenset() if phrase.startswith("re:") else frozenset(
                    w.lower() for tok in phrase.split() if not tok.endswith("*")
                    and not _GAP_MARK.fullmatch(tok) for w in _WORD.findall(tok.translate(_NORMALISE)))
                if (phrase.startswith("re:") and key is None) or not lead:
                    self.raw.append((g, rx))
                elif first.endswith("*") and lead.end() == len(first) - 1:
                    self.prefix.setdefault(lead.group(0).lower(), []).append((g, rx, needs))
                else:
                    self.exact.setdefault(lead.group(0).lower(), []).append((g, rx, needs))
        self.prefix_lens = sorted({len(k) for k in self.prefix})
        # word -> phrases starting with it; most words start none, and pages repeat their words
        self.memo: dict[str, tuple] = {}

    def _candidates(self, word: str) -> tuple:
        cands = list(self.exact.get(word, ()))
        for k in self.prefix_lens:
            if k > len(word):
                break
            cands += self.prefix.get(word[:k], ())
        return tuple(cands)

    def scan(self, text: str) -> dict[int, list[re.Match]]:
        """Matches per section (keyed by ``id(section)``), non-overlapping, longest first."""
        found: dict[int, list[re.Match]] = {}
        memo = self.memo
        todo: dict[tuple[int, int], tuple[_Phrases, re.Pattern, frozenset]] = {}
        words = set(_WORD.findall(text))
        lower = {w.lower() for w in words}
        for word in words:
            cands = memo.get(word)
            if cands is None:
                cands = memo[word] = self._candidates(word.lower())
            for entry in cands:
                todo[(id(entry[0]), id(entry[1]))] = entry
        # Each phrase that could match is then searched for in C, over this sentence only.
        for g, rx, needs in todo.values():
            if not needs <= lower:
                continue
            for m in rx.finditer(text):
                if m.end() > m.start():
                    found.setdefault(id(g), []).append(m)
        for g, rx in self.raw:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    found.setdefault(id(g), []).append(m)
        for key, ms in found.items():
            ms.sort(key=lambda m: (m.start(), -m.end()))
            kept, last = [], -1
            for m in ms:
                if m.start() >= last:
                    kept.append(m)
                    last = m.end()
            found[key] = kept
        return found


def _phrase_regex(phrase: str) -> str:
    """Regex source for a lexicon phrase (see the syntax notes at the top of the lexicon file)."""
    if phrase.startswith("re:"):
        return phrase[3:]
    # "a ... b": up to 6 words between; "a ...2 b": up to 2 (a tighter window for common words)
    pieces = _GAP_MARK.split(phrase)
    parts = [p.strip() for p in pieces[0::2]]
    gaps = [int(n) if n else _DEFAULT_GAP for n in pieces[1::2]]
    if any(not p for p in parts):
        raise ValueError("'...' needs words on both sides")
    if any(n > _MAX_GAP for n in gaps):
        raise ValueError(f"a gap of more than {_MAX_GAP} words is not a phrase")
    out = []
    for part in parts:
        tokens = []
        for tok in part.split():
            star = tok.endswith("*")
            core = tok[:-1] if star else tok
            src = re.escape(core.translate(_NORMALISE)) + (r"\w*" if star else "")
            tokens.append(src)
        src = r"\s+".join(tokens)
        first, last = part[0], part.rstrip("*")[-1:]
        if first.isalnum() or first == "_":
            src = r"(?<!\w)" + src
        if part.endswith("*") or last.isalnum():
            src += r"(?!\w)"
        out.append(src)
    joined = out[0]
    for n, src in zip(gaps, out[1:]):
        joined += _gap(n) + src
    return joined


#: What the evidence found when dry needling was compared with a comparator (lexicon `comparators`).
COMPARATOR_FINDINGS = ("no-difference", "comparator-better", "no-evidence", "benefit")


@dataclass(frozen=True)
class Comparator:
    """A comparator a page may claim dry needling beats, and what the evidence says about it.

    ``phrases`` match a superiority cue followed by one of ``words`` ("works better than
    stretching"); ``finding`` is one of :data:`COMPARATOR_FINDINGS`; ``evidence`` the records
    (``study#result``) that say so.
    """

    id: str
    name: str
    finding: str
    evidence: tuple[str, ...]
    says: str
    suggestion: str
    phrases: _Phrases


@dataclass(frozen=True)
class Lexicon:
    """The audit rules, compiled. Build with :func:`load_lexicon`."""

    source: str
    skip_endings: tuple[str, ...]
    abbreviations: frozenset[str]
    benefit: _Phrases
    safety_claims: _Phrases
    harms: _Phrases
    mechanism: _Phrases
    marketing: _Phrases
    comparators: tuple[Comparator, ...]
    sessions: _Phrases
    sessions_alone: _Phrases
    assertions: tuple[tuple[int, _Phrases], ...]
    hedges: tuple[tuple[int, _Phrases], ...]
    intensifiers: _Phrases
    absolutes: _Phrases
    absolutes_unhedged: _Phrases
    negation: re.Pattern
    procedure: _Phrases
    promises: _Phrases
    study_context: _Phrases
    past_markers: _Phrases
    citation_lead_ins: _Phrases
    reference_headings: frozenset[str]
    citation_shapes: tuple[re.Pattern, ...]
    topics: Mapping[str, tuple[str, ...]]
    ignore_topics: Mapping[str, frozenset[str]]
    generic_question: str
    precedence: Mapping[str, tuple[str, ...]]
    safety_question: str
    sessions_question: str
    mechanism_question: str
    verdict_order: tuple[str, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def groups(self) -> list[_Phrases]:
        """Every phrase section, for :class:`_Index`."""
        out = [self.benefit, self.safety_claims, self.harms, self.mechanism, self.marketing,
               self.sessions, self.sessions_alone, self.intensifiers, self.absolutes,
               self.absolutes_unhedged, self.procedure, self.promises, self.study_context,
               self.citation_lead_ins]
        out += [c.phrases for c in self.comparators]
        out += [g for _, g in self.assertions] + [g for _, g in self.hedges]
        return out


_LIST_KEYS = ("benefit", "safety_claims", "harms", "mechanism", "marketing", "intensifiers",
              "negations", "procedure", "promises", "study_context", "past_markers",
              "citation_lead_ins", "reference_headings", "citation_shapes")
_KNOWN_KEYS = set(_LIST_KEYS) | {
    "version", "skip_units_ending_with", "abbreviations", "assertions", "hedges", "absolutes",
    "sessions", "comparative_cues", "comparator_gap", "comparators",
    "topics", "ignore_topics", "generic_question", "precedence", "safety_question",
    "sessions_question", "mechanism_question", "verdict_order"}


def _default_lexicon_path() -> Any:
    return resources.files("evidencekit") / "data" / "audit_lexicon.yaml"


_CACHE: dict[str, Lexicon] = {}


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and compile an audit lexicon (default: the one shipped in ``evidencekit/data``).

    Raises
    ------
    InputError
        The file is missing, is not YAML, or a section has the wrong shape; the message names the
        file, the line (for YAML errors) and the section.
    """
    if path is None:
        key = "builtin"
        if key not in _CACHE:
            text = _default_lexicon_path().read_text(encoding="utf-8")
            _CACHE[key] = _compile_lexicon(text, "builtin (evidencekit/data/audit_lexicon.yaml)")
        return _CACHE[key]
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("lexicon file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the lexicon: {exc}", file=str(p)) from None
    return _compile_lexicon(text, str(p))


def _compile_lexicon(text: str, source: str) -> Lexicon:
    file = None if source.startswith("builtin") else source
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"the lexicon is not valid YAML: {getattr(exc, 'problem', exc)}",
                         file=file, line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise InputError("the lexicon must be a YAML mapping of sections (see docs/audit.md)", file=file)
    unknown = sorted(set(map(str, data)) - _KNOWN_KEYS)
    if unknown:
        raise InputError(f"unknown section(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(_KNOWN_KEYS))}", file=file, field=unknown[0])

    def str_list(key: str, value: Any = None, required: bool = False) -> list[str]:
        value = data.get(key) if value is None else value
        if value is None:
            if required:
                raise InputError(f"section {key!r} is missing", file=file, field=key)
            return []
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise InputError("must be a list of phrases (strings)", file=file, field=key)
        return [str(v) for v in value]

    def levelled(key: str, allowed: range) -> list[tuple[int, list[str]]]:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise InputError("must map a ladder level (0-4) to a list of phrases", file=file, field=key)
        out = []
        for level, phrases in value.items():
            if not isinstance(level, int) or level not in allowed:
                raise InputError(f"level {level!r} is not one of {list(allowed)}", file=file,
                                 field=f"{key}.{level}")
            out.append((level, str_list(f"{key}.{level}", phrases or [])))
        return out

    def str_value(key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise InputError("must be a question id (a string)", file=file, field=key)
        return value

    def flagged(key: str, flag: str) -> tuple[list[str], list[str]]:
        """Entries that are a phrase, or ``{phrase: ..., <flag>: true}``: (plain, flagged)."""
        plain, marked = [], []
        value = data.get(key) or []
        if not isinstance(value, list):
            raise InputError("must be a list of phrases (strings)", file=file, field=key)
        for i, entry in enumerate(value):
            if isinstance(entry, (str, int, float)):
                plain.append(str(entry))
            elif isinstance(entry, dict) and isinstance(entry.get("phrase"), str) \
                    and set(entry) <= {"phrase", flag}:
                (marked if entry.get(flag) else plain).append(entry["phrase"])
            else:
                raise InputError(f"each entry is a phrase or {{phrase: ..., {flag}: true}}",
                                 file=file, field=f"{key}[{i}]")
        return plain, marked

    absolutes, unhedged = flagged("absolutes", "unless_hedged")
    sessions, sessions_alone = flagged("sessions", "unless_other_claim")
    # Citation shapes are matched line by line and case-sensitively: author initials are capitals.
    shapes = []
    for i, p in enumerate(str_list("citation_shapes")):
        try:
            shapes.append(re.compile(p[3:] if p.startswith("re:") else _phrase_regex(p)))
        except (re.error, ValueError) as exc:
            raise InputError(f"bad phrase {p!r}: {exc}", file=file,
                             field=f"citation_shapes[{i}]") from None

    comparators = _compile_comparators(data, file, str_list)

    topics_raw = data.get("topics") or {}
    if not isinstance(topics_raw, dict):
        raise InputError("must map question ids to lists of phrases", file=file, field="topics")
    topics = {str(q): tuple(str_list(f"topics.{q}", v or [])) for q, v in topics_raw.items()}
    ignore_raw = data.get("ignore_topics") or {}
    if not isinstance(ignore_raw, dict):
        raise InputError("must map question ids to lists of phrases", file=file, field="ignore_topics")
    ignore = {str(q): frozenset(x.lower() for x in str_list(f"ignore_topics.{q}", v or []))
              for q, v in ignore_raw.items()}
    prec_raw = data.get("precedence") or {}
    if not isinstance(prec_raw, dict):
        raise InputError("must map a question id to the ids it overrides", file=file, field="precedence")
    precedence = {str(q): tuple(str_list(f"precedence.{q}", v or [])) for q, v in prec_raw.items()}
    order = tuple(str_list("verdict_order") or VERDICTS)
    if sorted(order) != sorted(VERDICTS):
        raise InputError(f"must list each verdict once: {', '.join(VERDICTS)}", file=file,
                         field="verdict_order")

    # The ladder's own markers join the hedges: one scale for generated claims and audited pages.
    hedges = levelled("hedges", range(0, 3))
    try:
        from .claims import WORDING_LADDER
        hedges += [(r.strength, list(r.markers)) for r in WORDING_LADDER if r.markers and r.strength < 3]
    except ImportError:  # pragma: no cover - claims.py is part of the package
        pass
    by_level: dict[int, list[str]] = {}
    for level, phrases in hedges:
        by_level.setdefault(level, []).extend(phrases)
    negations = str_list("negations")
    neg_alts = "|".join(re.escape(n) if n.isalpha() is False else r"\b" + re.escape(n) + r"\b"
                        for n in negations) or r"(?!x)x"
    return Lexicon(
        source=source,
        skip_endings=tuple(str_list("skip_units_ending_with")),
        abbreviations=frozenset(a.lower() for a in str_list("abbreviations")),
        benefit=_Phrases(str_list("benefit", required=True), "benefit", file),
        safety_claims=_Phrases(str_list("safety_claims"), "safety_claims", file),
        harms=_Phrases(str_list("harms"), "harms", file),
        mechanism=_Phrases(str_list("mechanism"), "mechanism", file),
        marketing=_Phrases(str_list("marketing"), "marketing", file),
        comparators=comparators,
        sessions=_Phrases(sessions, "sessions", file),
        sessions_alone=_Phrases(sessions_alone, "sessions", file),
        assertions=tuple((lvl, _Phrases(ph, f"assertions.{lvl}", file))
                         for lvl, ph in sorted(levelled("assertions", range(0, 5)))),
        hedges=tuple((lvl, _Phrases(ph, f"hedges.{lvl}", file)) for lvl, ph in sorted(by_level.items())),
        intensifiers=_Phrases(str_list("intensifiers"), "intensifiers", file),
        absolutes=_Phrases(absolutes, "absolutes", file),
        absolutes_unhedged=_Phrases(unhedged, "absolutes", file),
        # "did not reduce", "no improvement": a negation up to two words before a benefit word
        negation=re.compile(r"(?:" + neg_alts + r")\W+(?:\w+\W+){0,2}$", re.I),
        procedure=_Phrases(str_list("procedure"), "procedure", file),
        promises=_Phrases(str_list("promises"), "promises", file),
        study_context=_Phrases(str_list("study_context"), "study_context", file),
        past_markers=_Phrases(str_list("past_markers"), "past_markers", file),
        citation_lead_ins=_Phrases(str_list("citation_lead_ins"), "citation_lead_ins", file),
        reference_headings=frozenset(" ".join(h.lower().split())
                                     for h in str_list("reference_headings")),
        citation_shapes=tuple(shapes),
        topics=topics, ignore_topics=ignore,
        generic_question=str_value("generic_question"),
        precedence=precedence,
        safety_question=str_value("safety_question"),
        sessions_question=str_value("sessions_question"),
        mechanism_question=str_value("mechanism_question"),
        verdict_order=order,
        raw=data,
    )


def _compile_comparators(data: Mapping[str, Any], file: str | None, str_list) -> tuple[Comparator, ...]:
    """The `comparators` section: each comparator's words joined to every `comparative_cues` cue.

    One pattern per cue and comparator ("better than" + up to `comparator_gap` words + any of the
    comparator's words), indexed under the cue's first word like any phrase, so comparative claims
    cost no more than other cues (the audit stays linear).
    """
    cues = str_list("comparative_cues")
    gap = data.get("comparator_gap", 4)
    if not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= _MAX_GAP:
        raise InputError(f"must be a whole number of words from 0 to {_MAX_GAP}", file=file,
                         field="comparator_gap")
    raw = data.get("comparators") or []
    if not isinstance(raw, list):
        raise InputError("must be a list of comparators ({id, name, words, finding, evidence, says})",
                         file=file, field="comparators")
    out = []
    for i, entry in enumerate(raw):
        where = f"comparators[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not isinstance(entry.get("name"), str):
            raise InputError("each comparator needs an id and a name (strings)", file=file, field=where)
        unknown = set(entry) - {"id", "name", "words", "finding", "evidence", "says", "suggestion"}
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}", file=file, field=where)
        finding = entry.get("finding")
        if finding not in COMPARATOR_FINDINGS:
            raise InputError(f"finding {finding!r} is not one of {', '.join(COMPARATOR_FINDINGS)}",
                             file=file, field=f"{where}.finding")
        words = str_list(f"{where}.words", entry.get("words"), required=True)
        evidence = str_list(f"{where}.evidence", entry.get("evidence") or [])
        # One pattern per cue ("better than" + gap + any of the words, longest first), indexed under
        # the cue's first word: a sentence with "more" tries a few patterns, not one per word.
        try:
            alts = "|".join(f"(?:{_phrase_regex(w)})" for w in sorted(words, key=len, reverse=True))
            phrases = ["re:" + _phrase_regex(cue) + _gap(gap) + f"(?:{alts})" for cue in cues]
        except ValueError as exc:
            raise InputError(f"bad phrase: {exc}", file=file, field=f"{where}.words") from None
        keys = {ph: cue.split()[0] for ph, cue in zip(phrases, cues) if not cue.startswith("re:")}
        out.append(Comparator(
            id=entry["id"], name=entry["name"], finding=finding, evidence=tuple(evidence),
            says=" ".join(str(entry.get("says") or "").split()),
            suggestion=" ".join(str(entry.get("suggestion") or "").split()),
            phrases=_Phrases(phrases, where, file, keys)))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# reading pages


# A page saved as .txt that starts with a document or block tag is HTML: a fragment copied from a
# CMS ("<p>Dry needling ...") would otherwise be audited with its tags in every sentence.
_HTML_START = re.compile(r"\s*(?:<!doctype\s+html|<(?:html|head|body|p|div|h[1-6]|section|"
                         r"article|main|header|ul|ol|table)[\s>])", re.I)


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
        Missing or unreadable file, a binary file (NUL bytes), an encoding that is neither UTF-8 (with
        or without BOM) nor UTF-16/32 with a BOM, or a file over :data:`MAX_BYTES`.

    Notes
    -----
    Encodings are not guessed beyond BOMs and UTF-8: a wrong guess (e.g. Latin-1 for a Windows-1252
    page) would silently shift characters, and then the quoted sentences would not be the author's.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise InputError("is a folder, not a page", file=str(p))
        if size > MAX_BYTES:
            raise InputError(f"the file is {size / 1e6:.1f} MB; the audit reads pages up to "
                             f"{MAX_BYTES // (1024 * 1024)} MB. Split it or audit the part that "
                             f"patients read", file=str(p))
        # Regular files only, read bounded (a FIFO or /dev/zero would hang or fill memory).
        data = _io.read_bytes(p, limit=MAX_BYTES, kind="page").data
    except FileNotFoundError:
        raise InputError("file not found", file=str(p)) from None
    except PermissionError:
        raise InputError("permission denied; check the file's permissions", file=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=str(p)) from None
    text = decode_page(data, str(p))
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        fmt = "html"
    elif suffix in (".md", ".markdown", ".mdown", ".mkd"):
        fmt = "markdown"
    elif _HTML_START.match(text[:1000]):
        fmt = "html"
    else:
        fmt = "text"
    return text, fmt


def decode_page(data: bytes, name: str = "<input>") -> str:
    """Decode page bytes: UTF-8 (BOM optional) or UTF-16/UTF-32 with a BOM; else :class:`InputError`."""
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
    if b"\x00" in data:  # the whole page: a NUL after the first megabyte is binary too
        raise InputError("looks like a binary file (NUL bytes), or UTF-16 without a byte-order mark; "
                         "give a text, Markdown or HTML page saved as UTF-8", file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); the "
                         f"encoding is unknown. Re-save the page as UTF-8", file=name,
                         line=line) from None


_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "math"}
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "title",
               "section", "article", "header", "footer", "nav", "aside", "main", "blockquote",
               "table", "tr", "td", "th", "thead", "tbody", "dd", "dt", "dl", "hr", "figcaption",
               "figure", "pre", "form", "address", "details", "summary", "caption", "option",
               "button", "label", "body", "html", "head"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source",
         "track", "wbr", "param"}


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page: scripts, styles and markup dropped, blocks on their own lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0

    def _newline(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        if tag in _BLOCK_TAGS and not self.skip:
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS and not self.skip:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK_TAGS and not self.skip:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            # Source line breaks inside a paragraph are not breaks on screen.
            data = re.sub(r"\s+", " ", data)
            if self.parts and self.parts[-1].endswith(("\n", " ")):
                data = data.lstrip(" ")
        if data:
            self.parts.append(data)


def html_to_text(source: str) -> str:
    """The text of an HTML page as the audit reports on it (offsets index into this string).

    Tags, comments, ``<script>``, ``<style>`` and similar are dropped; entities are decoded; each block
    element (paragraph, heading, list item, table cell, ``<br>``) starts a new line.
    """
    parser = _TextExtractor()
    parser.feed(source)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n ")


def _markdown_scan(text: str) -> str:
    """A same-length copy of Markdown with the markup blanked, so cues see words, not syntax."""
    chars = list(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if chars[k] != "\n":
                chars[k] = " "

    for m in re.finditer(r"^(?:```|~~~).*?(?:^(?:```|~~~)[^\n]*$|\Z)", text, re.M | re.S):
        blank(m.start(), m.end())  # code is not prose
    for m in re.finditer(r"<!--.*?-->|<[^>\n]+>", text, re.S):
        blank(m.start(), m.end())
    for m in re.finditer(r"^[ \t]*(?:#{1,6}[ \t]|>[ \t]?|[-*+][ \t]|\d{1,3}[.)][ \t])", text, re.M):
        blank(m.start(), m.end())
    for m in re.finditer(r"!?\[([^\]\n]*)\]\(([^)\n]*)\)", text):
        blank(m.start(), m.start(1))
        blank(m.end(1), m.end())
    for m in re.finditer(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`", text):
        blank(m.start(), m.end())
    return "".join(chars)


_TITLE = re.compile(r"(?:the\s+)?[A-Z][\w'-]*(?:(?:\s+(?:of|and|&|in|for|the|on))*\s+[A-Z][\w'-]*)*")


def _mask_titles(unit: str, lead_ins: list[re.Match]) -> str:
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


# ---------------------------------------------------------------------------------------------
# sentences


_TERMINAL = re.compile(r"[.!?]+[\"')\]]*")
_LINE_START_MARKER = re.compile(r"[ \t]*(?:[\u2022\u00b7\u25aa\u25cf*+\-][ \t]+|\d{1,3}[.)][ \t]+)")
_CONTINUES = re.compile(r"(?:[,;(\-]|\b(?:and|or|the|of|in|to|a|an|with|for|by|that|than))\s*$", re.I)


def _sentences(scan: str, lex: Lexicon) -> list[tuple[int, int]]:
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
            nxt = scan[end:end + 2]
            if end < b and not (nxt[:1].isspace() and (nxt[1:2].isupper() or nxt[1:2].isdigit()
                                                       or nxt[1:2] in "\"'([\u2022")):
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


# ---------------------------------------------------------------------------------------------
# judging


@dataclass
class _Unit:
    start: int
    end: int
    scan: str
    study: bool = False


_BENEFIT_KINDS = ("benefit",)


def _claims_from(claims: Any) -> Any:
    """A ClaimSet as given, or one made from a Library (the audit never rates certainty itself)."""
    if hasattr(claims, "get") and hasattr(claims, "claims"):
        return claims
    if hasattr(claims, "questions") and hasattr(claims, "studies"):
        from .claims import make_claims

        return make_claims(claims)
    raise TypeError("claims must be a ClaimSet (evidencekit.make_claims) or a Library "
                    "(evidencekit.load_library)")


def _get_claim(claims: Any, qid: str) -> Any | None:
    try:
        return claims.get(qid)
    except KeyError:
        return None


def _allowed(claim: Any) -> int:
    from .claims import max_strength

    return max_strength(claim.certainty)


def audit_text(text: str, claims: Any, *, lexicon: str | Path | Lexicon | None = None,
               source_format: str = "text") -> AuditReport:
    """Judge every health-claim sentence of a page against the claims the evidence allows.

    Parameters
    ----------
    text
        The page as read (:func:`read_page`). For ``source_format="html"`` the tags are stripped
        first and the offsets index into the stripped text (:attr:`AuditReport.text`).
    claims
        A :class:`~evidencekit.claims.ClaimSet` (or a Library, from which one is made). Certainty and
        direction come from it; the audit does not rate evidence.
    lexicon
        Path of a lexicon YAML file (default: the one shipped with evidencekit), or a loaded one.
    source_format
        ``"text"``, ``"markdown"`` or ``"html"``.

    Returns
    -------
    AuditReport

    Notes
    -----
    Per sentence: (1) procedure/logistics cues make it a non-claim unless it also has an absolute or a
    mechanism phrase; (2) benefit, safety, harm, session and mechanism cues plus topic words give the
    question(s); (3) wording strength: an absolute gives 4, else the weakest hedge (0-2), else the
    strength of an assertion about the evidence ("research shows" 3, "supports" 2), else 3 (plain);
    an intensifier adds one; a past-tense report of a named study is 0 ("pain was reduced in the
    treated shoulder" describes an observation); (4) verdict per question: no evidence ->
    unsupported; benefit claimed where the evidence found no difference or harm -> contradicted;
    mechanism above the allowed rung -> mechanism-as-fact; above ``max_strength(certainty)`` ->
    overstated; else supported. A comparison ("works better than stretching") is judged against the
    lexicon's ``comparators``: contradicted where the evidence found no difference or favoured the
    comparator, unsupported where no study compared them. The shown verdict is the first in
    ``verdict_order``.
    The ladder is GRADE guideline 26 (Santesso 2020), as in :mod:`evidencekit.claims`.
    """
    if source_format not in _FORMATS:
        raise InputError(f"unknown source format {source_format!r}; use one of {', '.join(_FORMATS)}")
    if not isinstance(text, str):
        raise InputError("the page must be text (str); read files with read_page()")
    lex = lexicon if isinstance(lexicon, Lexicon) else load_lexicon(lexicon)
    cs = _claims_from(claims)
    if source_format == "html":
        text = html_to_text(text)
    scan = (_markdown_scan(text) if source_format == "markdown" else text).translate(_NORMALISE)
    spans = _sentences(scan, lex)
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    topics = _topic_matchers(cs, lex)

    index = _Index(lex.groups() + list(topics.values()))
    refs = _reference_lines(scan, lex)
    ref_starts = [a for a, _ in refs]
    findings = []
    recent_study: list[bool] = []
    for s, e in spans:
        k = bisect.bisect_right(ref_starts, s) - 1
        if k >= 0 and s < refs[k][1]:
            recent_study.append(False)
            continue  # a reference-list entry: a study's title is not the page's claim
        unit_scan = scan[s:e]
        hits = index.scan(unit_scan)
        lead_ins = hits.get(id(lex.citation_lead_ins))
        if lead_ins:
            unit_scan = _mask_titles(unit_scan, lead_ins)
            hits = index.scan(unit_scan)
        has_study = bool(hits.get(id(lex.study_context)))
        context_study = has_study or any(recent_study[-2:])
        recent_study.append(has_study)
        judged = _judge(unit_scan, hits, context_study, cs, lex, topics)
        if judged is None:
            continue
        verdict, reason, suggestion, evidence, qids, cues, strength, allowed = judged
        findings.append(Finding(start=s, end=e, text=text[s:e], verdict=verdict, reason=reason,
                                suggestion=suggestion, evidence=evidence, questions=qids, cues=cues,
                                line=bisect.bisect_right(line_starts, s), strength=strength,
                                allowed=allowed))
    return AuditReport(text=text, findings=tuple(findings), source_format=source_format,
                       sentences=len(spans), lexicon=lex.source)


_HEADING_MARKUP = re.compile(r"^[\s#*_>=\-]+|[\s#*_:=\-]+$")


def _reference_lines(scan: str, lex: Lexicon) -> list[tuple[int, int]]:
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


def _topic_matchers(cs: Any, lex: Lexicon) -> dict[str, _Phrases]:
    """Topic phrases per question: the lexicon's plus each claim's (questions.yaml ``topics``)."""
    merged: dict[str, list[str]] = {q: list(v) for q, v in lex.topics.items()}
    for c in getattr(cs, "claims", ()):
        merged.setdefault(c.question, []).extend(getattr(c, "topics", ()) or ())
    out = {}
    for q, phrases in merged.items():
        drop = lex.ignore_topics.get(q, frozenset())
        out[q] = _Phrases([p for p in phrases if p.lower() not in drop], f"topics.{q}", None)
    return out


def _is_past(scan: str, m: re.Match, lex: Lexicon) -> bool:
    """Is this benefit word reported in the past tense ("reduced", "was reduced", "experienced a
    reduction") rather than asserted ("reduces", "is restored")?"""
    before = scan[max(0, m.start() - 40):m.start()]
    prev = re.findall(r"[\w']+", before)[-3:]
    word = re.match(r"[\w']+", m.group(0))
    w = word.group(0).lower() if word else ""
    if prev and prev[-1].lower() in ("is", "are", "be", "being", "will", "to"):
        return False
    if w.endswith("ed"):
        return True
    return any(lex.past_markers.search(p) for p in prev)


def _judge(unit: str, hits: Mapping[int, list[re.Match]], study_context: bool, cs: Any, lex: Lexicon,
           topic_rx: Mapping[str, _Phrases]):
    stripped = unit.rstrip()
    if not stripped or (lex.skip_endings and stripped.endswith(lex.skip_endings)):
        return None

    def find(group: _Phrases) -> list[re.Match]:
        return hits.get(id(group), [])

    # Most sentences have no claim cue at all: leave before the detailed reading.
    signals = (lex.benefit, lex.safety_claims, lex.harms, lex.mechanism, lex.marketing, lex.sessions,
               lex.sessions_alone) + tuple(c.phrases for c in lex.comparators)
    if not any(find(g) for g in signals) and not any(find(g) for _, g in lex.assertions):
        return None

    def negated(m: re.Match) -> bool:
        return lex.negation.search(unit[max(0, m.start() - 40):m.start()]) is not None

    benefit, negated_benefit = [], []
    for m in find(lex.benefit):
        (negated_benefit if negated(m) else benefit).append(m)
    # "has not been proven", "not a miracle cure", "cannot guarantee": a negated superlative or
    # assertion claims nothing (the hedge "not been proven" is read on its own)
    marketing, denied = [], []
    for m in find(lex.marketing):
        (denied if negated(m) else marketing).append(m)
    if denied:  # "not a miracle cure" denies the superlative; it does not say the treatment fails
        negated_benefit = [b for b in negated_benefit
                           if not any(d.start() <= b.start() < d.end() for d in denied)]
    # "works better than stretching": a superiority claim over a comparator; "did no better than
    # stretching" is not one, nor is a cue whose comparator is in another clause
    comparisons, denied_comparisons = [], []
    for c in lex.comparators:
        for m in find(c.phrases):
            if not _CLAUSE_BREAK.search(m.group(0)):
                (denied_comparisons if negated(m) else comparisons).append((c, m))
    if denied_comparisons:  # "no more effective than stretching" is a comparison, judged as one
        negated_benefit = [b for b in negated_benefit if not any(
            m.start() <= b.start() < m.end() for _, m in denied_comparisons)]
    benefit = benefit + marketing + [m for _, m in comparisons]
    safety = find(lex.safety_claims)
    harms = find(lex.harms)
    mech = find(lex.mechanism)
    sessions = find(lex.sessions)
    assertions = [(lvl, m) for lvl, ph in lex.assertions for m in find(ph) if not negated(m)]
    hedges = [(lvl, m) for lvl, ph in lex.hedges for m in find(ph)]
    # A past-tense report of a study ("a 2007 study found that pain dropped immediately after
    # needling") describes what was measured: its time windows ("immediately") and superlatives
    # ("gave the best results of the three groups") are the study's, not promises. Absolutes about
    # people ("all the women treated") still overstate any report.
    reported = benefit + negated_benefit
    past_report = bool(study_context and reported and not assertions
                       and all(_is_past(unit, m, lex) for m in reported))
    absolutes = find(lex.absolutes) + [m for lvl, m in assertions if lvl >= 4]
    if not hedges and not past_report:
        absolutes = absolutes + find(lex.absolutes_unhedged)
    if not past_report:
        absolutes = absolutes + marketing
    intens = find(lex.intensifiers)
    topics = {q: ms for q, rx in topic_rx.items() if (ms := find(rx))}

    # A benefit plus a promise ("can expect relief after the first appointment") is a claim even
    # in a sentence that also names the procedure or the clinic.
    promised = bool(benefit and find(lex.promises))
    if find(lex.procedure) and not absolutes and not mech and not promised:
        return None  # describes the procedure, the clinic or a study's design: not a claim

    mech_q, safety_q, sessions_q = lex.mechanism_question, lex.safety_question, lex.sessions_question
    special = {mech_q, safety_q, sessions_q}
    benefit_topics = [q for q in topics if q not in special]
    # "after a course of treatment" next to a benefit with its own question is a time window, not
    # a dose claim: these session cues count only when nothing else in the sentence is claimed.
    if not sessions and find(lex.sessions_alone) and not ((benefit or negated_benefit)
                                                           and benefit_topics):
        sessions = find(lex.sessions_alone)
    signal = bool(benefit or negated_benefit or safety or mech or sessions or assertions)
    modes: dict[str, str] = {}
    if mech or (mech_q in topics and signal):
        modes[mech_q] = "mechanism"
    if sessions:
        modes[sessions_q] = "sessions"
    if safety:
        modes[safety_q] = "safety"
    elif harms and not benefit:
        modes[safety_q] = "warning"
    compared = {c.id: (c, "comparison") for c, _ in comparisons}
    compared.update({c.id: (c, "comparison-denied") for c, _ in denied_comparisons
                     if c.id not in compared})
    # a comparison the evidence does not back is the claim; an outcome-less benefit word beside it
    # ("works better than stretching") is not also judged against the generic question
    own_comparison = any(mode == "comparison-denied" or c.finding != "benefit"
                         for c, mode in compared.values())
    if benefit or negated_benefit:
        benefit_qs = list(benefit_topics)
        if not benefit_qs and not (set(modes) - {safety_q}) and not own_comparison:
            benefit_qs = [lex.generic_question]
        for q in benefit_qs:
            modes.setdefault(q, "benefit")
        for q, dropped in lex.precedence.items():
            if q in modes:
                for d in dropped:
                    if modes.get(d) == "benefit":
                        del modes[d]
    for cid, (_, mode) in compared.items():
        modes.setdefault(cid, mode)
    if not modes:
        return None

    # wording strength
    if absolutes:
        strength, why_strength = 4, "an absolute"
    elif past_report:
        strength, why_strength = 0, "a report of what a study observed"
    else:
        if hedges:
            strength = min(lvl for lvl, _ in hedges)
        elif assertions:
            strength = max(lvl for lvl, _ in assertions)
        else:
            strength = 3
        if intens:
            strength = min(4, strength + 1)
        why_strength = f"'{_LADDER_NAMES[strength]}' wording"
    cues = [m.group(0) for m in absolutes] + [m.group(0) for _, m in hedges] + \
        [m.group(0) for _, m in assertions] + [m.group(0) for m in intens] + \
        [m.group(0) for m in mech] + [m.group(0) for m in sessions] + [m.group(0) for m in safety] + \
        [m.group(0) for m in benefit] + ([m.group(0) for m in harms] if safety_q in modes else [])
    cues = list(dict.fromkeys(" ".join(c.split()) for c in cues))

    results = []  # (verdict, qid, reason, suggestion, evidence, allowed)
    for qid, mode in modes.items():
        if mode in ("comparison", "comparison-denied"):
            results.append((*_comparison_verdict(compared[qid][0], strength, why_strength,
                                                 denied=mode == "comparison-denied"), qid))
            continue
        results.append((*_verdict_for(qid, mode, strength, why_strength, bool(benefit),
                                      bool(negated_benefit) and not benefit, cs, lex), qid))
    rank = {v: i for i, v in enumerate(lex.verdict_order)}
    results.sort(key=lambda r: rank[r[0]])
    verdict, reason, suggestion, evidence, allowed, _ = results[0]
    others = [f"{q}: {v}" for v, *_rest, q in results[1:]]
    if others:
        reason += f" (also judged: {'; '.join(others)})"
    qids = tuple(r[-1] for r in results)
    all_evidence = tuple(dict.fromkeys(x for r in results for x in r[3]))
    return verdict, reason, suggestion, evidence or all_evidence, qids, tuple(cues), strength, allowed


_CLAUSE_BREAK = re.compile(r"[,;:()!?\"]|\.\s")


def _comparison_verdict(comp: Comparator, strength: int, why_strength: str, denied: bool = False):
    """(verdict, reason, suggestion, evidence, allowed) for "better than <comparator>".

    The lexicon's `comparators` say what the evidence found when dry needling was compared with
    this comparator; the reason quotes it and names the records, so an author can check it.
    ``denied``: the page says it did *no* better ("no more effective than stretching").
    """
    ev = tuple(dict.fromkeys(comp.evidence + tuple(e.split("#")[0] for e in comp.evidence)))
    records = f" ({', '.join(comp.evidence)})" if comp.evidence else ""
    says = comp.says or "the evidence does not show it"
    keep = comp.suggestion or "Keep it: it matches the evidence."
    if denied:
        claim = f"Says dry needling does no better than {comp.name}"
        if comp.finding in ("no-difference", "comparator-better"):
            return ("supported", f"{claim}, as the evidence found: {says}{records}.", keep, ev, None)
        if strength == 0:
            return ("supported", f"{claim} ({why_strength}); {says}{records}.", keep, ev, 0)
        if comp.finding == "benefit":
            return ("contradicted", f"{claim} ({why_strength}), but {says}{records}.",
                    comp.suggestion or "Say what the evidence found.", ev, None)
        return ("unsupported", f"{claim} ({why_strength}), but {says}{records}.",
                comp.suggestion or "Remove the comparison, or add a study that made it to evidence/.",
                ev, None)
    claim = f"Claims dry needling does better than {comp.name}"
    if strength == 0:
        return ("supported", f"{claim} ({why_strength}); {says}{records}.", keep, ev, 0)
    if comp.finding in ("no-difference", "comparator-better"):
        return ("contradicted", f"{claim} ({why_strength}), but {says}{records}.",
                comp.suggestion or "Remove the comparison.", ev, None)
    if comp.finding == "no-evidence":
        return ("unsupported", f"{claim} ({why_strength}), but {says}{records}.",
                comp.suggestion or "Remove the comparison, or add a study that made it to evidence/.",
                ev, None)
    return ("supported", f"The comparison with {comp.name} goes the way of the evidence: {says}"
                         f"{records}; the wording is judged by the outcome's question.",
            keep, ev, None)


def _verdict_for(qid: str, mode: str, strength: int, why_strength: str, claims_benefit: bool,
                 claims_no_effect: bool, cs: Any, lex: Lexicon):
    """(verdict, reason, suggestion, evidence, allowed) for one question."""
    claim = _get_claim(cs, qid)
    if mode == "warning":
        ev = _evidence(claim)
        return ("supported", "A cautious warning about possible harms; warnings are never "
                             "overclaims.", claim.claim if claim else "Keep the warning.", ev, None)
    if claim is None or claim.direction == "no-evidence" or not claim.records:
        text = claim.claim if claim else None
        if mode == "mechanism":
            if strength == 0:
                return "supported", "Mechanism presented as uncertain.", text or "", (), 0
            return ("mechanism-as-fact",
                    f"States how dry needling works as established ({why_strength}); there is no "
                    f"evidence in the library on this mechanism ({qid}).",
                    text or "Present it as an idea that has not been shown in patients: "
                            "\"It has been suggested that ...; this has not been tested in people.\"",
                    _evidence(claim), 0)
        if strength == 0:
            return "supported", f"Says the evidence is uncertain ({qid}).", text or "", _evidence(claim), 0
        if claim is None:  # e.g. the lexicon's topics for outcomes no question covers (sleep)
            why = (f"No question in the evidence covers this ('{qid}'), so no study in the library "
                   f"speaks to it; the sentence states it with {why_strength}.")
        else:
            why = (f"No study in the evidence answers the question '{qid}' ({claim.title}); the "
                   f"sentence states it with {why_strength}.")
        return ("unsupported", why,
                text or f"Remove the statement, or add evidence for it (no question '{qid}' in "
                        f"evidence/questions.yaml).",
                _evidence(claim), None)
    allowed = _allowed(claim)
    direction = claim.direction
    if direction == "unclear":
        allowed = 0  # claims.py words these "It is not clear whether ...": the bottom rung
    ladder = f"{claim.certainty} certainty allows at most '{_LADDER_NAMES[allowed]}' wording"
    ev = _evidence(claim)
    if mode == "mechanism" or claim.kind == "mechanism":
        if strength > allowed:
            return ("mechanism-as-fact",
                    f"A hypothesised mechanism stated with {why_strength}; {ladder} ({qid}).",
                    claim.claim, ev, allowed)
        return "supported", f"Mechanism worded within the evidence ({ladder}).", claim.claim, ev, allowed
    if mode == "safety":
        # "safe", "painless": a claim of no harm. Evidence of harm contradicts it.
        if direction == "harm" and strength >= 1:
            return ("contradicted", f"Says it is harmless, but the evidence points to harm "
                                    f"({claim.certainty} certainty, {qid}).", claim.claim, ev, allowed)
    elif direction in ("no-difference", "harm") and claims_benefit and strength >= 1:
        found = "no worthwhile difference" if direction == "no-difference" else "harm"
        return ("contradicted",
                f"Claims a benefit for '{claim.title}', but the evidence found {found} "
                f"({claim.certainty} certainty).", claim.claim, ev, allowed)
    elif direction == "benefit" and claims_no_effect and strength >= 1:
        return ("contradicted", f"Says it does not help, but the evidence points to a benefit "
                                f"({claim.certainty} certainty, {qid}).", claim.claim, ev, allowed)
    if strength > allowed:
        return ("overstated", f"Worded with {why_strength}; {ladder} ({qid}).", claim.claim, ev, allowed)
    return ("supported", f"Worded within the evidence: {why_strength}; {ladder} ({qid}).",
            claim.claim, ev, allowed)


def _evidence(claim: Any) -> tuple[str, ...]:
    if claim is None:
        return ()
    return tuple(dict.fromkeys(tuple(claim.records) + tuple(claim.citations)))
