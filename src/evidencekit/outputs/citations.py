"""The citation summary for authors: every study, in the leaflet's reference order, with sources.

Per study: the reference (citeproc-py, Vancouver/NLM), design, participants, groups, what it found
(each number with its source address and verbatim quote, and, where a study gives both groups'
means, SDs and sizes, the mean difference computed from them beside what was printed), risk of
bias, caveats and what the sources do not report. Studies the leaflet cites come first, in its
reference numbers; the rest follow in file order.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ..stats.distributions import critical_value
from .presentation import normalised
from .templating import md_env, version

__all__ = ["render_citation_summary", "computed_mean_difference"]

DESIGN_WORDS = {
    "randomised-trial": "Randomised trial",
    "within-subject-trial": "Within-person trial (one side treated, the other side as control)",
    "non-randomised-comparison": "Non-randomised comparison",
    "case-series": "Case series (no comparison group)",
    "systematic-review": "Systematic review",
    "narrative-review": "Narrative review (no new data)",
    "animal-study": "Animal study",
    "protocol": "Trial protocol (plan of a trial, no results)",
}

#: A not-reported note that only repeats that the item is missing says nothing the list does not.
_EMPTY_NOTE = re.compile(r"^\(?\s*not (?:quoted |found |given |stated )?in the notes\s*\.?\s*\)?$", re.I)
_DOUBLED = re.compile(r"\b(\w+)(\s+)\1\b", re.I)


def _num(x: float | None) -> str:
    if x is None:
        return "not reported"
    return f"{x:g}"


def _undouble(text: str) -> str:
    # "the the" from joining two phrases; a number repeated ("2 2") is data and kept.
    return _DOUBLED.sub(lambda m: m.group(0) if m.group(1).isdigit() else m.group(1), text)


def computed_mean_difference(result: Any, study: Any) -> str | None:
    """Mean difference (intervention minus comparator) with its 95% CI from two arms' mean, SD, n.

    Notes
    -----
    MD = m1 - m2, SE = sqrt(sd1²/n1 + sd2²/n2), 95% CI = MD ± 1.96 SE (Cochrane Handbook v6.4,
    6.5.1.1; metafor ``escalc(measure="MD")`` with ``vtype="LS"`` and a Wald interval). Only
    between-group arm summaries with an intervention and a comparator arm, each with SD and n.
    """
    if getattr(result, "kind", None) != "arm-summary" or getattr(result, "contrast", "") != \
            "between-groups":
        return None
    roles = {a.id: a.role for a in getattr(study, "arms", ())}
    treated = [a for a in result.arms if roles.get(a.arm) == "intervention"]
    control = [a for a in result.arms if roles.get(a.arm) == "comparator"]
    if len(treated) != 1 or len(control) != 1:
        return None
    t, c = treated[0], control[0]
    if None in (t.sd, t.n, c.sd, c.n):
        return None
    md = t.mean - c.mean
    se = math.sqrt(t.sd ** 2 / t.n + c.sd ** 2 / c.n)
    z = float(critical_value(95.0))
    return (f"MD {md:.2f} (95% CI {md - z * se:.2f} to {md + z * se:.2f}), computed from "
            f"the group means, SDs and sizes")


def _result_lines(study: Any, seen_notes: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for r in study.results:
        try:
            outcome = study.outcome(r.outcome)
            what = outcome.instrument or outcome.domain
            if outcome.scale:
                what = f"{what} ({outcome.scale})"
        except KeyError:  # pragma: no cover - records validate this
            what = r.outcome
        kind = getattr(r, "kind", "")
        if kind == "effect-estimate":
            text = f"{r.measure} {_num(r.estimate)}"
            if r.ci_low is not None and r.ci_high is not None:
                text += f" ({r.ci_level * 100:g}% CI {_num(r.ci_low)} to {_num(r.ci_high)})"
            elif r.se is not None:
                text += f" (SE {_num(r.se)})"
            if r.p_value is not None:
                text += f", P {r.p_relation} {r.p_value:g}"
            extras = []
            if r.k_studies:
                extras.append(f"{r.k_studies} studies")
            if r.n_participants:
                extras.append(f"{r.n_participants} participants")
            if r.model:
                extras.append(r.model)
            if extras:
                text += f" [{', '.join(extras)}]"
        elif kind == "arm-summary":
            parts = []
            for a in r.arms:
                s = f"{a.arm}: mean {_num(a.mean)}"
                if a.sd is not None:
                    s += f" (SD {_num(a.sd)})"
                if a.n is not None:
                    s += f", n = {a.n}"
                if a.sd_imputed:
                    s += f" (SD derived: {a.sd_imputed})"
                parts.append(s)
            text = "; ".join(parts)
        elif kind == "p-value":
            text = (f"{r.statement} ({r.p_text()})" if getattr(r, "statement", None)
                    else r.p_text())
        else:
            text = getattr(r, "statement", "") or ""
        text = text.strip().rstrip(".")  # the template ends the sentence
        note = r.note
        if note:
            # A note repeated on several results is printed once; later ones point back to it.
            key = normalised(note)
            if key in seen_notes:
                note = f"as noted for {seen_notes[key]}"
            else:
                seen_notes[key] = f"{study.short_title}, {r.id}"
        out.append({
            "id": r.id, "what": what, "time_point": r.time_point, "contrast": r.contrast,
            "comparison": r.comparison, "direction": r.direction, "text": _undouble(text),
            "computed": computed_mean_difference(r, study),
            "clinically_important": r.clinically_important, "note": note,
            "source": r.provenance.source, "quote": r.provenance.quote,
            "secondary": r.provenance.secondary, "inference": r.provenance.inference,
        })
    return out


def _anchor(study_id: str) -> str:
    return "study-" + re.sub(r"[^a-z0-9-]+", "-", study_id.lower())


def render_citation_summary(library: Any, claims: Any = None, *, style: str = "vancouver") -> str:
    """Per study: reference, design, n, what it found (with sources) and its caveats, as Markdown.

    Parameters
    ----------
    library
        The evidence library.
    claims
        Optional claims; when given, studies are ordered by the leaflet's reference numbers (the
        number is shown) and each lists the questions whose claim cites it.
    style
        Citation style for the reference line (``"vancouver"`` or ``"ama"``).

    Returns
    -------
    str
        Markdown meant to be pasted into a review; every value is Markdown-escaped, every address
        is a link.
    """
    from ..evidence.references import format_references

    numbers: dict[str, int] = {}
    items = tuple(getattr(claims, "claims", claims)) if claims is not None else ()
    if items:
        from .leaflet import leaflet_reference_numbers

        numbers = leaflet_reference_numbers(items, library)
    studies = list(library.studies.values())
    position = {s.id: i for i, s in enumerate(studies)}
    studies.sort(key=lambda s: (numbers.get(s.id, len(numbers) + 1), position[s.id]))
    refs = [library.references[s.id] for s in studies if s.id in library.references]
    formatted = dict(zip((r.key for r in refs), format_references(refs, style=style))) if refs \
        else {}
    cited_by: dict[str, list[str]] = {}
    for claim in items:
        for key in claim.citations:
            cited_by.setdefault(key, []).append(claim.title)
    questions_of: dict[str, list[str]] = {}
    for q in library.questions.values():
        for ev in q.evidence:
            questions_of.setdefault(ev.study, [])
            if q.title not in questions_of[ev.study]:
                questions_of[ev.study].append(q.title)
    seen_notes: dict[str, str] = {}
    entries = []
    for s in studies:
        not_reported = [{"item": nr.item,
                         "note": None if not nr.note or _EMPTY_NOTE.match(nr.note.strip())
                         else _undouble(nr.note)} for nr in s.not_reported]
        entries.append({
            "study": s,
            "anchor": _anchor(s.id),
            "number": numbers.get(s.id),
            "reference": formatted.get(s.id, "not in references.bib"),
            "design": DESIGN_WORDS.get(s.design, s.design)
            + (", randomised" if s.randomised and s.design != "randomised-trial" else ""),
            "n": s.population.n,
            "n_source": s.population.provenance.source if s.population.provenance else None,
            "results": _result_lines(s, seen_notes),
            "questions": questions_of.get(s.id, []),
            "cited_by": cited_by.get(s.id, []),
            "not_reported": not_reported,
        })
    return md_env().get_template("citation-summary.md.j2").render(
        entries=entries, version=version())
