"""The audit's language rules (topic-free): how claims, hedges, absolutes and negation are worded.

Everything about *words* lives in ``data/audit_lexicon.yaml`` and is compiled here: claim verbs and
benefit words, hedges by rung, absolutes, marketing, negation (ConText-style triggers, pseudo-triggers
and scope terminators), procedure and logistics cues, reference-list shapes. Nothing here knows the
review's treatment or questions: that is :mod:`evidencekit.audit.topics`, read from the evidence
folder.

Phrases are compiled one by one and indexed by their first word (:class:`PhraseIndex`), so a page is
read in time linear in its length; ``re:`` phrases are checked for nested unbounded quantifiers
(:func:`check_pattern`), the usual cause of catastrophic backtracking.
"""
from __future__ import annotations

import re

try:  # the regex parser moved in Python 3.11; sre_parse is its deprecated alias
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from ..vocab import VERDICTS
from ..errors import InputError
from ..io import read_text
from .pages import NORMALISE

__all__ = ["VERDICTS", "Lexicon", "Phrases", "PhraseIndex", "load_lexicon", "phrase_regex",
           "check_pattern", "LADDER_NAMES", "MAX_GAP"]

#: The verdicts, in the order a sentence that speaks to several questions is labelled by default.

LADDER_NAMES = ("very uncertain", "may", "probably", "plain", "absolute")
_DEFAULT_GAP = 6  # " ... " in a phrase: up to 6 words in between
MAX_GAP = 12      # " ...N " with N at most this (bounded, so every phrase stays linear to search)
_GAP_MARK = re.compile(r"\.\.\.(\d*)")
_NORMALISE = NORMALISE


def _gap(n: int) -> str:
    """Regex for a gap of up to ``n`` words between two parts of a phrase."""
    return r"\W+" if n == 0 else r"(?:\W+\w+){0,%d}?\W+" % n


def gap_regex(n: int) -> str:
    """Public name of :func:`_gap`, for the topic compiler."""
    return _gap(n)


def check_pattern(pattern: str) -> str | None:
    """Why a regular expression could backtrack catastrophically, or ``None`` if it is safe.

    Rejects a repeat with no upper bound (``*``, ``+``, ``{n,}``) that contains another repeat of
    more than one, such as ``(\\w+\\s?)*`` or ``(a+)+``: on a long input that does not match, the
    engine tries every way of splitting it between the two (exponential time). Bounded outer repeats
    (``{0,6}``) of unambiguous pieces, as the phrase syntax generates, stay polynomial and short.

    Notes
    -----
    The nested-quantifier rule of regex linters such as ``regexploit`` and ``safe-regex``
    (Davis et al. 2018, "The impact of regular expression denial of service in practice").
    """
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        return f"does not compile: {exc}"

    def repeats(items, inside_unbounded: bool) -> str | None:
        for op, av in items:
            if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
                lo, hi, sub = av
                unbounded = hi == sre_parse.MAXREPEAT
                if inside_unbounded and hi > 1:
                    return "a repeated group inside an unbounded repeat (nested quantifiers)"
                found = repeats(sub, inside_unbounded or unbounded)
                if found:
                    return found
            elif op == sre_parse.SUBPATTERN:
                found = repeats(av[-1], inside_unbounded)
                if found:
                    return found
            elif op == sre_parse.BRANCH:
                for branch in av[1]:
                    found = repeats(branch, inside_unbounded)
                    if found:
                        return found
            elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                found = repeats(av[1], inside_unbounded)
                if found:
                    return found
        return None

    return repeats(tree, False)


class Phrases:
    """One lexicon section: its phrases, each compiled on its own (see :class:`PhraseIndex`)."""

    def __init__(self, phrases: Iterable[str], where: str, file: str | None,
                 keys: Mapping[str, str] | None = None):
        self.where = where
        # phrase -> the word it must start with, for `re:` phrases built from words (comparators)
        self.keys = dict(keys or {})
        self.phrases = tuple(dict.fromkeys(p for p in phrases if p))
        self.entries: list[tuple[str, re.Pattern]] = []
        for i, p in enumerate(self.phrases):
            try:
                source = phrase_regex(p)
                unsafe = check_pattern(source) if p.startswith("re:") else None
                if unsafe:
                    raise ValueError(f"{unsafe}; it could take forever on a long sentence. "
                                     "Rewrite it without a repeat inside a repeat")
                rx = re.compile(source, re.I)
            except (re.error, ValueError) as exc:
                raise InputError(f"bad phrase {p!r}: {exc}", file=file, field=f"{where}[{i}]") from None
            self.entries.append((p, rx))
        alts = "|".join(f"(?:{rx.pattern})" for _, rx in
                        sorted(self.entries, key=lambda e: len(e[0]), reverse=True))
        # Used only on short strings (a few words); whole sentences go through PhraseIndex.
        self.regex = re.compile(alts, re.I) if alts else None

    def search(self, text: str) -> re.Match | None:
        return self.regex.search(text) if self.regex else None


_WORD = re.compile(r"\w+")


class PhraseIndex:
    """All phrases of all sections, indexed by their first word.

    A regex alternation of a few hundred phrases costs (characters x phrases) in Python's engine:
    minutes for a 10 MB page. Looking up each word of a sentence in a dict of first words, and trying
    only the phrases that start with it, keeps the audit linear in the length of the page.
    """

    def __init__(self, groups: Iterable[Phrases]):
        Entry = tuple[Phrases, re.Pattern, frozenset]
        self.exact: dict[str, list[Entry]] = {}
        self.prefix: dict[str, list[Entry]] = {}
        self.raw: list[tuple[Phrases, re.Pattern]] = []
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
        todo: dict[tuple[int, int], tuple[Phrases, re.Pattern, frozenset]] = {}
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


def phrase_regex(phrase: str) -> str:
    """Regex source for a lexicon phrase (see the syntax notes at the top of the lexicon file)."""
    if phrase.startswith("re:"):
        return phrase[3:]
    # "a ... b": up to 6 words between; "a ...2 b": up to 2 (a tighter window for common words)
    pieces = _GAP_MARK.split(phrase)
    parts = [p.strip() for p in pieces[0::2]]
    gaps = [int(n) if n else _DEFAULT_GAP for n in pieces[1::2]]
    if any(not p for p in parts):
        raise ValueError("'...' needs words on both sides")
    if any(n > MAX_GAP for n in gaps):
        raise ValueError(f"a gap of more than {MAX_GAP} words is not a phrase")
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



@dataclass(frozen=True)
class Negation:
    """ConText-style negation (Harkema et al. 2009; as in medspaCy and negspaCy).

    A *trigger* ("not", "no", "without") negates a cue that follows it within ``window`` words,
    unless a *terminator* ("but", "however", ";") comes between them; a *pseudo-trigger* ("not only",
    "no doubt") looks like a trigger but negates nothing. All three are lexicon data.
    """

    triggers: re.Pattern
    pseudo: re.Pattern
    terminators: re.Pattern
    window: int

    def negates(self, text: str, start: int) -> bool:
        """Is the cue starting at ``start`` of ``text`` in the scope of a negation trigger?"""
        before = text[max(0, start - 16 * self.window):start]
        # only the words inside the window, and only after the last terminator
        words = list(re.finditer(r"[\w'’-]+|[;:]", before))[-self.window:]
        if not words:
            return False
        scope = before[words[0].start():]
        cut = None
        for m in self.terminators.finditer(scope):
            cut = m.end()
        if cut is not None:
            scope = scope[cut:]
        masked = self.pseudo.sub(lambda m: " " * len(m.group(0)), scope)
        return self.triggers.search(masked) is not None


@dataclass(frozen=True)
class Lexicon:
    """The audit's language rules, compiled. Build with :func:`load_lexicon`. Topic-free."""

    source: str
    skip_endings: tuple[str, ...]
    abbreviations: frozenset[str]
    benefit: Phrases
    safety_claims: Phrases
    harms: Phrases
    harm_minimisers: Phrases
    mechanism: Phrases
    marketing: Phrases
    comparative_cues: tuple[str, ...]
    comparator_gap: int
    sessions: Phrases
    sessions_alone: Phrases
    assertions: tuple[tuple[int, Phrases], ...]
    hedges: tuple[tuple[int, Phrases], ...]
    intensifiers: Phrases
    absolutes: Phrases
    absolutes_unhedged: Phrases
    negation: Negation
    procedure: Phrases
    result_connectors: Phrases
    promises: Phrases
    subject_references: Phrases
    purpose_markers: Phrases
    harm_modals: Phrases
    reported_speech: Phrases
    imperatives: tuple[str, ...]
    evidence_subjects: Phrases
    evidence_findings: Phrases
    study_context: Phrases
    past_markers: Phrases
    citation_lead_ins: Phrases
    reference_headings: frozenset[str]
    citation_shapes: tuple[re.Pattern, ...]
    verdict_order: tuple[str, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def groups(self) -> list[Phrases]:
        """Every phrase section, for :class:`PhraseIndex`."""
        out = [self.benefit, self.safety_claims, self.harms, self.harm_minimisers, self.mechanism,
               self.marketing, self.sessions, self.sessions_alone, self.intensifiers, self.absolutes,
               self.absolutes_unhedged, self.procedure, self.result_connectors, self.promises,
               self.subject_references, self.purpose_markers, self.harm_modals,
               self.reported_speech,
               self.evidence_subjects, self.evidence_findings, self.study_context,
               self.citation_lead_ins]
        out += [g for _, g in self.assertions] + [g for _, g in self.hedges]
        return out


_LIST_KEYS = ("benefit", "safety_claims", "harms", "harm_minimisers", "mechanism", "marketing",
              "intensifiers", "negations", "pseudo_negations", "negation_terminators", "procedure",
              "result_connectors", "promises", "subject_references", "purpose_markers",
              "harm_modals", "evidence_subjects", "evidence_findings", "imperatives",
              "reported_speech",
              "study_context", "past_markers", "citation_lead_ins", "reference_headings",
              "citation_shapes", "comparative_cues")
_KNOWN_KEYS = set(_LIST_KEYS) | {
    "version", "skip_units_ending_with", "abbreviations", "assertions", "hedges", "absolutes",
    "sessions", "comparator_gap", "negation_window", "verdict_order"}
#: Sections that moved to the evidence folder's topic file (topics.py) in version 2.
TOPIC_KEYS = ("topics", "ignore_topics", "generic_question", "precedence", "safety_question",
              "sessions_question", "mechanism_question", "comparators")


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
    # read as every input is (regular file, bounded, UTF-8 checked); the message names the lexicon
    text = read_text(p, kind="lexicon file", prefix="lexicon ")
    return _compile_lexicon(text, str(p))


def _yaml_mapping(text: str, file: str | None, what: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"the {what} is not valid YAML: {getattr(exc, 'problem', exc)}",
                         file=file, line=mark.line + 1 if mark else None) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"the {what} must be a YAML mapping of sections (see docs/audit.md)",
                         file=file)
    return data


class _Reader:
    """Typed access to a YAML mapping, every problem an InputError naming the file and field."""

    def __init__(self, data: Mapping[str, Any], file: str | None):
        self.data, self.file = data, file

    def str_list(self, key: str, value: Any = None, required: bool = False) -> list[str]:
        value = self.data.get(key) if value is None else value
        if value is None:
            if required:
                raise InputError(f"section {key!r} is missing", file=self.file, field=key)
            return []
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise InputError("must be a list of phrases (strings)", file=self.file, field=key)
        return [str(v) for v in value]

    def levelled(self, key: str, allowed: range) -> list[tuple[int, list[str]]]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise InputError("must map a ladder level (0-4) to a list of phrases", file=self.file,
                             field=key)
        out = []
        for level, phrases in value.items():
            if not isinstance(level, int) or level not in allowed:
                raise InputError(f"level {level!r} is not one of {list(allowed)}", file=self.file,
                                 field=f"{key}.{level}")
            out.append((level, self.str_list(f"{key}.{level}", phrases or [])))
        return out

    def flagged(self, key: str, flag: str) -> tuple[list[str], list[str]]:
        """Entries that are a phrase, or ``{phrase: ..., <flag>: true}``: (plain, flagged)."""
        plain, marked = [], []
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise InputError("must be a list of phrases (strings)", file=self.file, field=key)
        for i, entry in enumerate(value):
            if isinstance(entry, (str, int, float)):
                plain.append(str(entry))
            elif isinstance(entry, dict) and isinstance(entry.get("phrase"), str) \
                    and set(entry) <= {"phrase", flag}:
                (marked if entry.get(flag) else plain).append(entry["phrase"])
            else:
                raise InputError(f"each entry is a phrase or {{phrase: ..., {flag}: true}}",
                                 file=self.file, field=f"{key}[{i}]")
        return plain, marked

    def whole_number(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise InputError(f"must be a whole number of words from {lo} to {hi}", file=self.file,
                             field=key)
        return value


def _alternation(words: Iterable[str], whole: bool = True) -> re.Pattern:
    # whole words for words ("no" must not match "know"); "n't" and ";" match anywhere
    alts = "|".join(r"(?<!\w)" + re.escape(w) + r"(?!\w)" if whole and w.replace(" ", "").isalpha()
                    else re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w)
    return re.compile(alts or r"(?!x)x", re.I)


def _compile_lexicon(text: str, source: str) -> Lexicon:
    file = None if source.startswith("builtin") else source
    data = _yaml_mapping(text, file, "lexicon")
    moved = sorted(set(map(str, data)) & set(TOPIC_KEYS))
    if moved:
        raise InputError(f"section(s) {', '.join(moved)} are topic knowledge: they belong in the "
                         "evidence folder's audit-topics.yaml, not in the language lexicon "
                         "(docs/audit.md, 'Topic file')", file=file, field=moved[0])
    unknown = sorted(set(map(str, data)) - _KNOWN_KEYS)
    if unknown:
        raise InputError(f"unknown section(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(_KNOWN_KEYS))}", file=file, field=unknown[0])
    r = _Reader(data, file)
    absolutes, unhedged = r.flagged("absolutes", "unless_hedged")
    sessions, sessions_alone = r.flagged("sessions", "unless_other_claim")
    # Citation shapes are matched line by line and case-sensitively: author initials are capitals.
    shapes = []
    for i, p in enumerate(r.str_list("citation_shapes")):
        try:
            src = p[3:] if p.startswith("re:") else phrase_regex(p)
            unsafe = check_pattern(src)
            if unsafe:
                raise ValueError(unsafe)
            shapes.append(re.compile(src))
        except (re.error, ValueError) as exc:
            raise InputError(f"bad phrase {p!r}: {exc}", file=file,
                             field=f"citation_shapes[{i}]") from None
    order = tuple(r.str_list("verdict_order") or VERDICTS)
    if sorted(order) != sorted(VERDICTS):
        raise InputError(f"must list each verdict once: {', '.join(VERDICTS)}", file=file,
                         field="verdict_order")
    # The ladder's own markers join the hedges: one scale for generated claims and audited pages.
    hedges = r.levelled("hedges", range(0, 3))
    from ..grade.ladder import WORDING_LADDER

    hedges += [(rung.strength, list(rung.markers)) for rung in WORDING_LADDER
               if rung.markers and rung.strength < 3]
    by_level: dict[int, list[str]] = {}
    for level, phrases in hedges:
        by_level.setdefault(level, []).extend(phrases)
    window = r.whole_number("negation_window", 3, 1, MAX_GAP)
    cues = r.str_list("comparative_cues")
    for i, cue in enumerate(cues):
        try:
            phrase_regex(cue)
        except ValueError as exc:
            raise InputError(f"bad phrase {cue!r}: {exc}", file=file,
                             field=f"comparative_cues[{i}]") from None
    return Lexicon(
        source=source,
        skip_endings=tuple(r.str_list("skip_units_ending_with")),
        abbreviations=frozenset(a.lower() for a in r.str_list("abbreviations")),
        benefit=Phrases(r.str_list("benefit", required=True), "benefit", file),
        safety_claims=Phrases(r.str_list("safety_claims"), "safety_claims", file),
        harms=Phrases(r.str_list("harms"), "harms", file),
        harm_minimisers=Phrases(r.str_list("harm_minimisers"), "harm_minimisers", file),
        mechanism=Phrases(r.str_list("mechanism"), "mechanism", file),
        marketing=Phrases(r.str_list("marketing"), "marketing", file),
        comparative_cues=tuple(cues),
        comparator_gap=r.whole_number("comparator_gap", 4, 0, MAX_GAP),
        sessions=Phrases(sessions, "sessions", file),
        sessions_alone=Phrases(sessions_alone, "sessions", file),
        assertions=tuple((lvl, Phrases(ph, f"assertions.{lvl}", file))
                         for lvl, ph in sorted(r.levelled("assertions", range(0, 5)))),
        hedges=tuple((lvl, Phrases(ph, f"hedges.{lvl}", file)) for lvl, ph in sorted(by_level.items())),
        intensifiers=Phrases(r.str_list("intensifiers"), "intensifiers", file),
        absolutes=Phrases(absolutes, "absolutes", file),
        absolutes_unhedged=Phrases(unhedged, "absolutes", file),
        negation=Negation(triggers=_alternation(r.str_list("negations")),
                          pseudo=_alternation(r.str_list("pseudo_negations")),
                          terminators=_alternation(r.str_list("negation_terminators")),
                          window=window),
        procedure=Phrases(r.str_list("procedure"), "procedure", file),
        result_connectors=Phrases(r.str_list("result_connectors"), "result_connectors", file),
        promises=Phrases(r.str_list("promises"), "promises", file),
        subject_references=Phrases(r.str_list("subject_references"), "subject_references", file),
        purpose_markers=Phrases(r.str_list("purpose_markers"), "purpose_markers", file),
        harm_modals=Phrases(r.str_list("harm_modals"), "harm_modals", file),
        reported_speech=Phrases(r.str_list("reported_speech"), "reported_speech", file),
        imperatives=tuple(" ".join(w.lower().split()) for w in r.str_list("imperatives")),
        evidence_subjects=Phrases(r.str_list("evidence_subjects"), "evidence_subjects", file),
        evidence_findings=Phrases(r.str_list("evidence_findings"), "evidence_findings", file),
        study_context=Phrases(r.str_list("study_context"), "study_context", file),
        past_markers=Phrases(r.str_list("past_markers"), "past_markers", file),
        citation_lead_ins=Phrases(r.str_list("citation_lead_ins"), "citation_lead_ins", file),
        reference_headings=frozenset(" ".join(h.lower().split())
                                     for h in r.str_list("reference_headings")),
        citation_shapes=tuple(shapes),
        verdict_order=order,
        raw=data,
    )
