"""Claims for the audit tests.

``stand_in_claims()`` is a fixed ClaimSet that mirrors what the evidence in SOURCES.md supports (the
certainty levels and directions a reader of SOURCES.md would expect), so the audit tests do not move
when someone edits evidence/. ``real_claims()`` makes the claims from the repository's evidence/
folder (the integration the CLI uses); it returns ``None`` when that folder does not load.
"""
from __future__ import annotations

from pathlib import Path

from evidencekit.grade.claims import Claim, ClaimSet

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence"


def _claim(question, kind, certainty, direction, claim, records=("study#r",), topics=(), title=None):
    return Claim(question=question, title=title or question, kind=kind, claim=claim,
                 certainty=certainty, direction=direction, caveats=(), citations=tuple(
                     r.split("#")[0] for r in records), records=tuple(records), topics=tuple(topics))


def stand_in_claims() -> ClaimSet:
    """The eight questions of evidence/questions.yaml with the ratings SOURCES.md points to."""
    return ClaimSet(claims=(
        _claim("pain-short-term", "benefit", "low", "benefit",
               "Dry needling may reduce neck and shoulder pain in the first weeks after treatment.",
               ("kietrys2013#pain-vs-sham-4wk", "gattie2017#pain-immediate-to-12wk"),
               ("pain relief", "reduce pain", "less pain")),
        _claim("pain-immediate", "benefit", "low", "benefit",
               "Dry needling may reduce pain right after one session.",
               ("kietrys2013#pain-vs-sham-immediate", "hsieh2007#pain-treated-vs-untreated"),
               ("immediately", "right away", "after one session")),
        _claim("movement", "benefit", "very low", "benefit",
               "The evidence is very uncertain about the effect of dry needling on how far the neck or "
               "shoulder can move.",
               ("hsieh2007#rom-treated-vs-untreated", "osborne2010#rom-narrative"),
               ("range of motion", "mobility", "movement")),
        _claim("whiplash-recovery", "benefit", "moderate", "no-difference",
               "Adding dry needling to exercise probably results in little to no difference in disability "
               "from whiplash up to a year later.",
               ("sterling2015#ndi-md-12mo", "sterling2015#recovery-narrative"),
               ("whiplash", "recovery", "disability"), title="Disability and recovery after whiplash"),
        _claim("athletes", "benefit", "very low", "benefit",
               "The evidence is very uncertain about the effect of dry needling on shoulder pain, "
               "movement and strength during a competition season.",
               ("osborne2010",), ("athletes", "elite")),
        _claim("safety", "harm", "very low", "no-evidence",
               "We do not know how often dry needling causes side effects. The studies did not report them.",
               (), ("safe", "side effects"), title="Side effects and safety"),
        _claim("sessions", "dose", "very low", "no-evidence",
               "We found no studies on how many sessions of dry needling are needed.",
               (), ("sessions", "number of sessions"), title="How many sessions are needed"),
        _claim("mechanism", "mechanism", "very low", "unclear",
               "It is not clear whether dry needling changes trigger points and the nerve signals from "
               "muscle.", ("hsieh2007#ppt-treated-vs-untreated",), ("motor endplate", "twitch response")),
    ))


def bundled_topics():
    """The bundled review's audit topic file (evidence/audit-topics.yaml), loaded once."""
    global _TOPICS
    if _TOPICS is None:
        from evidencekit.audit import load_topics

        _TOPICS = load_topics(EVIDENCE)
    return _TOPICS


_TOPICS = None


def real_claims():
    """Claims made from the repository's evidence/ folder. The bundled evidence must load: a
    folder that does not is a failure of every test that uses it, never a skip."""
    from evidencekit.grade.claims import make_claims
    from evidencekit.validation import load_library

    return make_claims(load_library(EVIDENCE))


def claims_for_tests(prefer_real: bool = False):
    """The stand-in claims, or the real ones when asked for and available."""
    return real_claims() if prefer_real else stand_in_claims()


# ---- scoring the auditor against a labelled page ------------------------------------------------
#
# One scorer for every labelled-page test (test_audit_sample, test_audit_heldout*). Each label is a
# span of the page text with an expected verdict (``None`` = "not a claim, must not be reported", or
# ``IGNORED`` = borderline, left out of every figure). Each finding is matched to the label span it
# overlaps most (``match="overlap"``, the rule of most modules); ``match="start"`` instead attributes
# a finding to the span its start falls in and to every later span whose start it covers (the rule
# test_audit_heldout.py was measured with). A label is *flagged* when any finding lands on it, and
# its predicted verdict is that of the finding that overlaps it most (``"overlap"``) or of the
# earliest finding (``"start"``). A finding that lands on no label is a stray false positive.

from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any, Iterable, Sequence  # noqa: E402

VERDICTS = ("supported", "overstated", "unsupported", "contradicted", "mechanism-as-fact")
PROBLEM_VERDICTS = frozenset(VERDICTS[1:])
IGNORED = "(ignored)"  # label verdict: borderline, excluded from every figure


def _get(f: Any, key: str):
    return f[key] if isinstance(f, dict) else getattr(f, key)


def sentence_spans(text: str, prefixes: Sequence[str], *, stop_at_line_end: bool = False
                   ) -> list[tuple[int, int]]:
    """Spans of labelled sentences: each runs from its prefix (found in page order) to the next
    label's prefix, trailing whitespace dropped; with ``stop_at_line_end``, to the end of its line or
    the next label's prefix, whichever comes first."""
    starts, pos = [], 0
    for prefix in prefixes:
        at = text.find(prefix, pos)
        assert at >= 0, f"label prefix not in the text (after offset {pos}): {prefix!r}"
        starts.append(at)
        pos = at + len(prefix)
    spans = []
    for i, (at, prefix) in enumerate(zip(starts, prefixes)):
        nxt = starts[i + 1] if i + 1 < len(starts) else len(text)
        if stop_at_line_end:  # to the end of the line or the next label, whichever comes first
            eol = text.find("\n", at + len(prefix))
            end = min(nxt, eol) if eol >= 0 else nxt
        else:  # to the next label, trailing whitespace dropped
            end = at + len(text[at:nxt].rstrip())
        spans.append((at, end))
    return spans


@dataclass(frozen=True)
class PageScore:
    """Scores of the auditor on one labelled page (see ``score_page``)."""

    expected: tuple            # per label: expected verdict, None or IGNORED
    predicted: tuple           # per label: verdict of the finding it got, or None
    prefixes: tuple            # per label: its prefix / fragment (for reports)
    stray: tuple               # findings that landed on no label
    split: int                 # labels with more than one finding
    tp: int                    # claims flagged
    fp: int                    # non-claims flagged + stray findings
    claims: int                # labelled claims
    agree: int                 # flagged claims whose verdict equals the label
    problem_counts: tuple      # (expected-and-reported problems, reported problems, expected problems)

    @property
    def fn(self) -> int:
        return self.claims - self.tp

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.claims if self.claims else 0.0

    @property
    def verdict_agreement(self) -> float:
        return self.agree / self.tp if self.tp else 0.0

    @property
    def right_of_all(self) -> float:
        """Claims with the right verdict out of all labelled claims (end to end)."""
        return self.agree / self.claims if self.claims else 0.0

    @property
    def problem_precision(self) -> float:
        both, got, _exp = self.problem_counts
        return both / got if got else 0.0

    @property
    def problem_recall(self) -> float:
        both, _got, exp = self.problem_counts
        return both / exp if exp else 0.0

    @property
    def confusion(self) -> Counter:
        """(expected, predicted) -> number of labels; IGNORED labels are left out."""
        return Counter((e, p) for e, p in zip(self.expected, self.predicted) if e != IGNORED)

    @property
    def misses(self) -> list[tuple[int, str | None, str | None]]:
        """(label index, expected, predicted) for every scored label where they differ."""
        return [(i, e, p) for i, (e, p) in enumerate(zip(self.expected, self.predicted))
                if e != IGNORED and e != p]

    def format_confusion(self) -> str:
        """Markdown table, rows = expected, columns = auditor ('none' = not a claim / not flagged)."""
        labels = (None,) + VERDICTS
        name = {None: "none", "mechanism-as-fact": "mechanism"}
        cols = [name.get(v, v) for v in labels]
        table = self.confusion
        lines = ["| expected \\ audit | " + " | ".join(cols) + " | total |",
                 "|---|" + "---:|" * (len(cols) + 1)]
        for e in labels:
            counts = [table[(e, g)] for g in labels]
            lines.append(f"| {name.get(e, e)} | " + " | ".join(str(c) for c in counts)
                         + f" | {sum(counts)} |")
        return "\n".join(lines)


def score_page(text: str, labels: Sequence[tuple], findings: Iterable, *,
               spans: Sequence[tuple[int, int]] | None = None, match: str = "overlap") -> PageScore:
    """Score ``findings`` (Finding objects or JSON dicts with start/end/verdict) against ``labels``.

    ``labels`` are ``(prefix, expected verdict or None or IGNORED, ...)`` rows in page order;
    ``spans`` defaults to ``sentence_spans(text, prefixes)``.
    """
    findings = list(findings)
    prefixes = tuple(row[0] for row in labels)
    expected = tuple(row[1] for row in labels)
    if spans is None:
        spans = sentence_spans(text, prefixes)
    assert len(spans) == len(labels)
    hits: list[list[tuple[int, Any]]] = [[] for _ in labels]   # (overlap or -start, finding)
    stray = []
    if match == "overlap":
        for f in findings:
            fs, fe = _get(f, "start"), _get(f, "end")
            overlaps = [max(0, min(e, fe) - max(s, fs)) for s, e in spans]
            best = max(range(len(spans)), key=overlaps.__getitem__)
            if overlaps[best] == 0:
                stray.append(f)
            else:
                hits[best].append((overlaps[best], f))
    elif match == "start":
        starts = [s for s, _e in spans]
        bounds = starts[1:] + [len(text) + 1]
        for f in sorted(findings, key=lambda f: _get(f, "start")):
            fs, fe = _get(f, "start"), _get(f, "end")
            landed = False
            for i, (lo, hi) in enumerate(zip(starts, bounds)):
                if lo <= fs < hi or fs < lo < fe:
                    hits[i].append((-fs, f))
                    landed = True
            if not landed:
                stray.append(f)
    else:
        raise ValueError(f"unknown match rule {match!r}")
    # the best hit: largest overlap, or earliest start; the first such on a tie
    predicted = tuple(_get(max(h, key=lambda t: t[0])[1], "verdict") if h else None for h in hits)
    scored = [(e, p) for e, p in zip(expected, predicted) if e != IGNORED]
    tp = sum(1 for e, p in scored if e is not None and p is not None)
    fp = sum(1 for e, p in scored if e is None and p is not None) + len(stray)
    return PageScore(
        expected=expected, predicted=predicted, prefixes=prefixes, stray=tuple(stray),
        split=sum(1 for e, h in zip(expected, hits) if e != IGNORED and len(h) > 1),
        tp=tp, fp=fp, claims=sum(1 for e, _p in scored if e is not None),
        agree=sum(1 for e, p in scored if e is not None and e == p),
        problem_counts=(
            sum(1 for e, p in scored if e in PROBLEM_VERDICTS and p in PROBLEM_VERDICTS),
            sum(1 for _e, p in scored if p in PROBLEM_VERDICTS),
            sum(1 for e, _p in scored if e in PROBLEM_VERDICTS)),
    )


# ---- all labelled pages at once ------------------------------------------------------------------


def page_figures() -> dict[str, dict]:
    """Precision, recall, neutral-flag rate and verdict agreement on every labelled page, audited as
    ``evidencekit audit --evidence evidence`` does (the real claims, the bundled topic file)."""
    import importlib
    import sys

    from evidencekit.audit import audit_text, read_page

    sys.path.insert(0, str(Path(__file__).parent))
    claims, topics = real_claims(), EVIDENCE
    out: dict[str, dict] = {}

    def add(name: str, sc: PageScore) -> None:
        neutral = sum(1 for e in sc.expected if e is None)
        flagged = sum(1 for e, p in zip(sc.expected, sc.predicted) if e is None and p is not None)
        out[name] = {"precision": round(sc.precision, 3), "recall": round(sc.recall, 3),
                     "neutral_flagged": f"{flagged + len(sc.stray)}/{neutral}",
                     "verdict_agreement": round(sc.verdict_agreement, 3),
                     "tp/flagged/claims/agree": f"{sc.tp}/{sc.flagged}/{sc.claims}/{sc.agree}"}

    h1 = importlib.import_module("test_audit_heldout")
    text, fmt = read_page(h1.PAGE)
    rep = audit_text(text, claims, topics=topics, source_format=fmt)
    add("held-out page 1", score_page(rep.text, h1.LABELS, rep.findings, match="start"))
    h2 = importlib.import_module("test_audit_heldout2")
    text, fmt = read_page(h2.PAGE)
    rep = audit_text(text, claims, topics=topics, source_format=fmt)
    add("held-out page 2", score_page(text, h2.LABELS, rep.findings))
    h3 = importlib.import_module("test_audit_heldout3")
    text, fmt = read_page(h3.PAGE)
    rep = audit_text(text, claims, topics=topics, source_format=fmt)
    add("held-out page 3", score_page(rep.text, h3.LABELS, rep.findings,
                                      spans=h3._label_spans(rep.text)))
    b = importlib.import_module("test_audit_blind45")
    for name in sorted(b.PAGES):
        text, labels, findings = b._run(name)
        add(f"blind {name}", score_page(text, labels, findings))
    return out


if __name__ == "__main__":  # python tests/_audit_support.py -> the figures in docs/audit.md
    import json

    print(json.dumps(page_figures(), indent=1))
