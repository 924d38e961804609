"""The audit's results and their outputs: text for a terminal, JSON, a pandas frame, HTML.

The HTML report is rendered by Jinja2 from ``templates/audit-report.html.j2`` with autoescaping
on, so nothing from the page or the evidence can become markup; it loads nothing (no scripts, fonts
or images) and cannot phone home.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..vocab import VERDICT_REPORT_ORDER

__all__ = ["Finding", "AuditReport", "REPORT_ORDER"]

#: The order reports list the verdicts in (the JSON summary's ``verdicts``, the text head, the HTML
#: colour key), from :mod:`evidencekit.vocab`.
REPORT_ORDER = VERDICT_REPORT_ORDER


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
        Where the language rules came from.
    topics
        Where the topic knowledge came from (the evidence folder, or the claims).
    """

    text: str
    findings: tuple[Finding, ...]
    source_format: str = "text"
    sentences: int = 0
    lexicon: str = "builtin"
    topics: str = ""

    def counts(self) -> dict[str, int]:
        """Findings per verdict (every verdict present, zero or not)."""
        out = {v: 0 for v in REPORT_ORDER}
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
                        "source_format": self.source_format, "lexicon": self.lexicon,
                        "topics": self.topics},
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
        if self.topics:  # which review's topic knowledge judged the page
            head += f"\nTopics from: {self.topics}."
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

        Rendered by Jinja2 with autoescaping (never marked safe): every string from the page and
        the evidence is escaped.
        """
        pieces = []  # (plain text before, finding or None)
        pos = 0
        for i, f in enumerate(self.findings, 1):
            if f.start < pos:  # cannot happen with sentence units, but never emit broken markup
                continue
            pieces.append((self.text[pos:f.start], i, f))
            pos = f.end
        counts = ", ".join(f"{n} {v}" for v, n in self.counts().items() if n) or "no claims"
        return _template().render(title=title, pieces=pieces, tail=self.text[pos:],
                                  findings=list(enumerate(self.findings, 1)), counts=counts,
                                  verdicts=REPORT_ORDER)


#: The HTML report's template (package data beside the leaflet's templates).
TEMPLATE = "audit-report.html.j2"


@lru_cache(maxsize=1)
def _template():
    """The report template in an environment of its own: autoescape on for every value, and an
    undefined name is an error rather than an empty string. The leaflet's environments
    (:mod:`evidencekit.outputs.templating`) add Markdown escaping and reference filters the report does
    not use."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("evidencekit", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template(TEMPLATE)
