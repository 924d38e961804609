"""The clinician summary: the detail behind each leaflet message, per question and comparison.

For each claim: its summary-of-findings row (effect, studies and participants, certainty, and the
GRADE domains with the reason for each change, where the claims carry them; otherwise the reasons
for the rating), the claim as the leaflet prints it, the studies behind it with their caveats, the
forest plot of what the studies reported, and what was left out and why (studies read but not
counted, studies that found no worthwhile benefit, caveats of kinds the question excludes, and
caveats the leaflet could not print in plain words).

Layout after the GRADE summary-of-findings table (Guyatt GH et al. GRADE guidelines: 12.
Preparing summary of findings tables. J Clin Epidemiol 2013;66:158-72).
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..vocab import DOMAIN_NAMES
from ..grade.study_names import study_name
from .presentation import (
    CERTAINTY_WORDS, certainty_of, claim_comparator, claim_effect, claims_by_importance,
    group_caveats, review_settings,
)
from .templating import html_env, md_env, reference_list, version

__all__ = ["render_clinician_summary", "clinician_model", "DOMAIN_NAMES"]



class StudyRow(NamedTuple):
    label: str
    number: int | None
    role: str
    design: str
    n: str
    caveats: tuple[str, ...]


class DomainRow(NamedTuple):
    name: str
    change: str
    reason: str


class Finding(NamedTuple):
    question: str
    anchor: str
    title: str
    comparator: str
    claim: str
    certainty: str
    certainty_label: str
    effect: str
    studies_text: str
    domains: tuple[DomainRow, ...]
    reasons: tuple[str, ...]
    general: tuple[str, ...]
    studies: tuple[StudyRow, ...]
    left_out: tuple[str, ...]
    figure: str | None
    #: The review team's decisions, disclosed (overrides, then exclusions).
    decisions: tuple[str, ...] = ()
    #: Sensitivity analyses: (analysis, "estimate (low to high)", k), and what they change.
    sensitivity: tuple[tuple[str, str, str], ...] = ()
    sensitivity_note: str = ""


def _g(x: Any, name: str) -> Any:
    return x.get(name) if isinstance(x, dict) else getattr(x, name, None)


def _fmt(x: Any) -> str:
    return "NA" if x is None else f"{x:.2f}"


def effect_text(claim: Any) -> str:
    """The pooled effect in the words of a summary-of-findings table, or the claim's size."""
    effect = claim_effect(claim)
    if effect is not None and _g(effect, "estimate") is not None:
        text = (f"{_g(effect, 'measure')} {_fmt(_g(effect, 'estimate'))} (95% CI "
                f"{_fmt(_g(effect, 'ci_low'))} to {_fmt(_g(effect, 'ci_high'))})")
        if _g(effect, "pi_low") is not None and _g(effect, "pi_high") is not None:
            text += (f"; prediction interval {_fmt(_g(effect, 'pi_low'))} to "
                     f"{_fmt(_g(effect, 'pi_high'))}")
        extra = []
        for m in (_g(effect, "method"), _g(effect, "ci_method")):
            if m and str(m) not in extra:  # a reported result names "as reported" once
                extra.append(str(m))
        if _g(effect, "i2") is not None:
            extra.append(f"I² {_g(effect, 'i2'):.0f}%")
        if _g(effect, "tau2") is not None:
            extra.append(f"tau² {_g(effect, 'tau2'):.3g}")
        if extra:
            text += f" [{', '.join(extra)}]"
        return text
    size = getattr(claim, "size", None)
    return str(size) if size else "not pooled: no effect estimate"


def _studies_text(claim: Any, library: Any) -> str:
    effect = claim_effect(claim)
    k = _g(effect, "k") if effect is not None else None
    people = _g(effect, "participants") if effect is not None else None
    if k is None:
        k = len(claim.citations)
        people = sum(library.studies[s].population.n or 0 for s in claim.citations
                     if s in getattr(library, "studies", {})) or None
    return f"{k} {'study' if k == 1 else 'studies'}" + (f", {people:,} participants"
                                                        if people else "")


def _domains(claim: Any) -> tuple[DomainRow, ...]:
    domains = getattr(claim, "domains", None)
    if not domains:
        return ()
    rows = []
    for key, name in DOMAIN_NAMES.items():
        d = domains.get(key) if isinstance(domains, dict) else getattr(domains, key, None)
        if d is None:
            continue
        change = _g(d, "change") or 0
        rows.append(DomainRow(name, "not rated down" if change == 0 else
                              f"rated down {abs(change)} level{'s' if abs(change) > 1 else ''}",
                              str(_g(d, "reason") or "")))
    return tuple(rows)


def clinician_model(claims: Any, library: Any, *,
                    figures: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Everything the clinician-summary templates show (see the module docstring)."""
    from .citations import DESIGN_WORDS
    from .leaflet import leaflet_reference_numbers

    items = tuple(getattr(claims, "claims", claims))
    settings = review_settings(library)
    numbers = leaflet_reference_numbers(items, library)
    # Considered studies are numbered here too (after the leaflet's), so each row links somewhere.
    for claim in claims_by_importance(items):
        for key in getattr(claim, "considered_citations", ()):
            if key in library.references:
                numbers.setdefault(key, len(numbers) + 1)
    findings = []
    for claim in claims_by_importance(items):
        general, by_study = group_caveats(claim, library)
        caveats_of = dict(by_study)
        question = library.questions.get(claim.question)
        contrary = {n.study: n.reason for n in getattr(claim, "contrary_reasons", ())}
        considered = {n.study: n.reason for n in getattr(claim, "considered", ())}
        rows = []
        seen = []
        for ev in getattr(question, "evidence", ()):
            sid = ev.study
            if sid in seen or sid not in library.studies:
                continue
            seen.append(sid)
            study = library.studies[sid]
            role = ("counted as support" if sid in claim.citations else
                    f"found no worthwhile benefit: {contrary.get(sid, '')}".rstrip(": ")
                    if sid in getattr(claim, "contrary", ()) or sid in contrary else
                    f"not counted: {considered[sid]}" if sid in considered else "not counted")
            if ev.indirect:
                role += f"; indirect: {ev.indirect}"
            rows.append(StudyRow(study_name(library, sid), numbers.get(sid), role,
                                 DESIGN_WORDS.get(study.design, study.design),
                                 f"n = {study.population.n}" if study.population.n else
                                 "n not reported", caveats_of.get(sid, ())))
        left_out = [f"{study_name(library, n.study)}: read but not counted as support ({n.reason})"
                    for n in getattr(claim, "considered", ())]
        left_out += [f"{study_name(library, n.study)}: found no worthwhile benefit ({n.reason})"
                     for n in getattr(claim, "contrary_reasons", ())]
        left_out += [f"{study_name(library, s)}: caveat of kind '{k}' left out of this claim (the "
                     f"question does not use that kind): {t}"
                     for s, k, t in getattr(claim, "excluded_caveats", ())]
        level = certainty_of(claim)
        figure = f"figures/forest-{claim.question}.png"
        findings.append(Finding(
            question=claim.question, anchor="q-" + re.sub(r"[^a-z0-9-]+", "-", claim.question),
            title=claim.title, comparator=claim_comparator(claim, library),
            claim=" ".join(str(claim.claim).split()), certainty=level,
            certainty_label=CERTAINTY_WORDS[level][0] if level in CERTAINTY_WORDS else level,
            effect=effect_text(claim), studies_text=_studies_text(claim, library),
            domains=_domains(claim), reasons=tuple(getattr(claim, "certainty_reasons", ())),
            general=tuple(general), studies=tuple(rows), left_out=tuple(left_out),
            figure=figure if figure in figures else None))
        findings[-1] = _with_review_decisions(claim, library, findings[-1])
    return {"settings": settings, "title": f"Clinician summary: {settings.title}",
            "findings": tuple(findings), "references": reference_list(numbers, library.references),
            "version": version()}


def render_clinician_summary(claims: Any, library: Any, fmt: str = "md", *,
                             figures: frozenset[str] | set[str] = frozenset()) -> str:
    """Render the clinician summary as ``"md"`` or ``"html"``.

    Parameters
    ----------
    claims, library
        As for :func:`evidencekit.outputs.leaflet.render_leaflet`.
    figures
        Names of the figure files written beside it (``figures/forest-<question>.png``); a
        question's forest plot is shown where its file is among them.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"fmt must be 'html' or 'md', got {fmt!r}")
    model = clinician_model(claims, library, figures=frozenset(figures))
    if fmt == "md":
        return md_env().get_template("clinician-summary.md.j2").render(**model)
    return html_env().get_template("clinician-summary.html.j2").render(**model)


def _with_review_decisions(claim: Any, library: Any, finding: Finding) -> Finding:
    """The finding with the review team's decisions and the sensitivity analyses of its claim.

    An excluded study or result is listed under "Left out, and why" with its reason and who
    decided; the sensitivity rows keep the analyses' technical names (clinicians read them).
    """
    excluded = [f"{study_name(library, e['study'])}"
                + (f" (result {e['result']})" if e.get("result") else "")
                + f": excluded by {e['decided_by']}: {e['reason']}"
                for e in getattr(claim, "excluded", ())]
    rows = tuple((str(r["analysis"]), f"{_fmt(r['estimate'])} ({_fmt(r['ci_low'])} to "
                  f"{_fmt(r['ci_high'])})" if r.get("ci_low") is not None else _fmt(r["estimate"]),
                  str(r["k"])) for r in getattr(claim, "sensitivity", ()))
    return finding._replace(decisions=tuple(getattr(claim, "decisions", ())),
                            left_out=tuple(excluded) + finding.left_out, sensitivity=rows,
                            sensitivity_note=getattr(claim, "sensitivity_note", ""))
