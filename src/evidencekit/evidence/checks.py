"""The checks across an evidence folder's files that need nothing above the records.

Each takes the :class:`~evidencekit.evidence.scan.Scan` and adds messages to it: references
against studies and questions, declared vocabularies, arm sizes, numbers against their quotes, and
the warnings for suspicious but possible values. :mod:`evidencekit.validation` runs them, in order,
together with the checks that need the statistics or the grading.
"""
from __future__ import annotations

import difflib

from ..settings import SETTINGS_FILE
from . import records
from .quotes import unprinted_numbers
from .reading import posix
from .records import ArmSummaryResult, ArmEventsResult, EffectEstimate, Study
from .scan import BIB_FILE, QUESTIONS_FILE, QuestionsFile, Scan
from .schema_errors import locate

__all__ = ["check_cross_references", "check_question_domains", "check_declared_and_counted",
           "check_quoted_numbers", "warn_suspicious"]


def check_cross_references(scan: Scan) -> None:
    """Every study has its BibTeX entry and the reverse; links and question evidence resolve."""
    out = scan.out
    q_path, q_node = scan.root / QUESTIONS_FILE, scan.questions_node
    bib_shown = posix(scan.root / BIB_FILE)
    # A study whose file exists but failed validation already has its own errors; references to
    # it are not reported again as unresolved. Nor are cross-references checked against a
    # references.bib or a studies/ folder that could not be read at all: that one error says it.
    study_files = scan.study_stems
    study_ids = list(scan.studies)
    if scan.bib_read and scan.studies_listed:
        for sid, (shown, node) in scan.study_nodes.items():
            if sid not in scan.references and sid not in scan.bib_broken_keys:
                folded = {k.lower(): k for k in scan.references}
                near = folded.get(sid) or next(iter(difflib.get_close_matches(
                    sid, list(scan.references), n=1)), None)
                hint = f" (references.bib has '{near}': make the keys match)" if near else ""
                out.error(shown, locate(Study, node, ("id",)).line, "id",
                          f"study '{sid}' has no entry in references.bib{hint}; add "
                          f"@article{{{sid}, ...}} with the paper's details")
        for key, ref in scan.references.items():
            # A study file that failed validation already has its own error; do not add a second.
            if key not in scan.studies and key not in study_files:
                out.error(bib_shown, ref.line, key,
                          f"BibTeX entry '{key}' has no study file; add studies/{key}.yaml (see "
                          "evidence/README.md) or remove the entry")

    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for i, link in enumerate(study.links):
            where = locate(Study, node, ("links", i, "target"))
            if link.target == sid:
                out.error(shown, where.line, where.path, f"study '{sid}' links to itself; "
                                                         "give the other study's key")
            elif link.target not in scan.studies and link.target not in study_files:
                near = difflib.get_close_matches(link.target, study_ids, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else (
                    "; add that study, or remove the link")
                out.error(shown, where.line, where.path,
                          f"link target '{link.target}' is not a study in this folder{hint}")

    if q_node is not None and scan.studies_listed:
        q_shown = posix(q_path)
        for q in scan.questions.values():
            i = scan.question_index[q.id]
            for j, ev in enumerate(q.evidence):
                if ev.study not in scan.studies:
                    if ev.study in study_files:
                        continue
                    where = locate(QuestionsFile, q_node, ("questions", i, "evidence", j,
                                                             "study"))
                    near = difflib.get_close_matches(ev.study, study_ids, n=1)
                    hint = f"; did you mean '{near[0]}'?" if near else "; add the study first"
                    out.error(q_shown, where.line, where.path,
                              f"question '{q.id}' cites study '{ev.study}', which is not in "
                              f"studies/{hint}")
                    continue
                result_ids = [r.id for r in scan.studies[ev.study].results]
                for m, rid in enumerate(ev.results):
                    if rid not in result_ids:
                        where = locate(QuestionsFile, q_node, ("questions", i, "evidence", j,
                                                                 "results", m))
                        near = difflib.get_close_matches(rid, result_ids, n=1)
                        hint = (f"; did you mean '{near[0]}'?" if near else
                                f"; its results are: {', '.join(result_ids) or 'none'}")
                        out.error(q_shown, where.line, where.path,
                                  f"study '{ev.study}' has no result '{rid}'{hint}")


def check_declared_and_counted(scan: Scan) -> None:
    """Checks of the data against itself: declared characteristics and outcome domains, included
    studies that exist, and no arm analysed with more people than it randomised."""
    out = scan.out
    settings = scan.settings
    domains = set(settings.outcome_domains) if settings is not None else set(
        records.DEFAULT_OUTCOME_DOMAINS)
    declared = set(settings.characteristics) if settings is not None else None
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for name in study.population.characteristics:
            if declared is not None and name not in declared:
                where = locate(Study, node, ("population", "characteristics", name))
                out.error(shown, where.line, f"population.characteristics.{name}",
                          f"characteristic '{name}' is not declared in {SETTINGS_FILE}; add it "
                          f"under `characteristics:` with what it means, or fix the name"
                          + (f" (declared: {', '.join(sorted(declared))})" if declared else ""))
        for i, o in enumerate(study.outcomes):
            if o.domain not in domains:
                where = locate(Study, node, ("outcomes", i, "domain"))
                near = difflib.get_close_matches(o.domain, sorted(domains), n=1)
                out.error(shown, where.line, where.path,
                          f"outcome domain '{o.domain}' is not one this review declares"
                          + (f"; did you mean '{near[0]}'?" if near else "")
                          + f" (add it to `outcome_domains` in {SETTINGS_FILE})")
        for i, r in enumerate(study.results):
            for j, target in enumerate(getattr(r, "includes", ()) or ()):
                if target not in scan.studies and target not in scan.study_stems:
                    where = locate(Study, node, ("results", i, "includes", j))
                    out.error(shown, where.line, where.path,
                              f"result '{r.id}' includes '{target}', which is not a study in "
                              "this folder; add the study or fix the key")
        arm_n = {a.id: a.n_randomised for a in study.arms}
        for i, r in enumerate(study.results):
            if isinstance(r, (ArmSummaryResult, ArmEventsResult)):
                for j, a in enumerate(r.arms):
                    n = a.n if isinstance(r, ArmSummaryResult) else a.total
                    cap = arm_n.get(a.arm)
                    if n is not None and cap is not None and n > cap:
                        name = "n" if isinstance(r, ArmSummaryResult) else "total"
                        where = locate(Study, node, ("results", i, "arms", j, name))
                        out.error(shown, where.line, where.path,
                                  f"result '{r.id}', arm '{a.arm}': {n} analysed but the arm "
                                  f"randomised {cap} (arms: n_randomised); check both numbers")


def check_quoted_numbers(scan: Scan) -> None:
    """Every number is printed in its provenance quote, or marked as inferred."""
    out = scan.out
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        for loc, value, quote in unprinted_numbers(study):
            where = locate(Study, node, loc)
            out.error(shown, where.line, where.path,
                      f"{value:g} is not printed in its provenance quote ({quote[:80]!r}); quote "
                      "the text that shows it, or say in `inference` how it was derived")


def check_question_domains(scan: Scan) -> None:
    """Each question's outcome domains are ones the review declares."""
    q_path, q_node = scan.root / QUESTIONS_FILE, scan.questions_node
    if q_node is None:
        return
    domains = set(scan.settings.outcome_domains) if scan.settings is not None else set(
        records.DEFAULT_OUTCOME_DOMAINS)
    for q in scan.questions.values():
        i = scan.question_index[q.id]
        for j, d in enumerate(q.outcome_domains):
            if d not in domains:
                where = locate(QuestionsFile, q_node, ("questions", i, "outcome_domains", j))
                scan.out.error(posix(q_path), where.line, where.path,
                               f"question '{q.id}': outcome domain '{d}' is not one this review "
                               f"declares (add it to `outcome_domains` in {SETTINGS_FILE})")


def _some(ids: list[str], limit: int = 4) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _mentions(items: tuple[records.NotReported, ...], word: str) -> bool:
    return any(word in (nr.item + " " + (nr.note or "")).lower() for nr in items)


def warn_suspicious(scan: Scan) -> None:
    out = scan.out
    for sid, (shown, node) in scan.study_nodes.items():
        study = scan.studies[sid]
        secondary, inferred = [], []
        for i, r in enumerate(study.results):
            if r.provenance.secondary:
                secondary.append(r.id)
            if r.provenance.inference:
                inferred.append(r.id)
            if isinstance(r, EffectEstimate):
                asym = r.ci_asymmetry()
                if asym is not None and r.ci_asymmetry_beyond_rounding():
                    where = locate(Study, node, ("results", i))
                    out.warning(shown, where.line, where.path,
                                f"result '{r.id}': the CI {r.ci_low} to {r.ci_high} is not "
                                f"symmetric around the estimate {r.estimate} (the estimate sits "
                                f"{asym:.0%} of the CI width from its midpoint, more than rounding "
                                f"of the printed digits explains): kept as printed; check the "
                                f"full text")
            if isinstance(r, ArmSummaryResult):
                for j, a in enumerate(r.arms):
                    if a.sd_imputed:
                        where = locate(Study, node, ("results", i, "arms", j, "sd_imputed"))
                        out.warning(shown, where.line, where.path,
                                    f"result '{r.id}', arm '{a.arm}': the SD is not printed in "
                                    f"the source but derived ({a.sd_imputed}); effect sizes using "
                                    "it are less certain: check the full text for the real SD")
        if secondary or inferred:
            parts = []
            if secondary:
                parts.append(f"{len(secondary)} result(s) come from a secondary source "
                             f"({_some(secondary)})")
            if inferred:
                parts.append(f"{len(inferred)} result(s) rest on the reviewers' inference "
                             f"({_some(inferred)})")
            out.warning(shown, locate(Study, node, ("results",)).line, "results",
                        "; ".join(parts) + ": check them against the full text when available")
        for name in ("funding", "conflicts"):
            if getattr(study, name) is None and not _mentions(
                    study.not_reported, "fund" if name == "funding" else "conflict"):
                where = locate(Study, node, (name,))
                out.warning(shown, where.line, name,
                            f"{name} not recorded; give it when known, or add a not_reported "
                            f"entry saying where you looked")
