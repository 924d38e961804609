"""Patient material: the leaflet, the citation summary, claims.json and figures.

:func:`build` is what ``evidencekit build`` (and ``make run``) runs. It loads the evidence folder,
makes the claims, checks how hard their text is to read, and writes into the output folder:

- ``leaflet.md`` and ``leaflet.html``: one section per review question with the claim exactly as
  :mod:`evidencekit.grade.claims` words it, how sure we are in words, every caveat, and numbered Vancouver
  references; a plain summary of what is and is not known comes first;
- ``leaflet.pdf``: the HTML printed by headless Chromium where it is installed;
- ``citation-summary.md``: per study, the reference, design, n, what it found (with the source address
  of each number) and its caveats;
- ``claims.json``: the same JSON as ``evidencekit claims --format json``;
- ``figures/``: a forest plot of reported effects per question that has them, an evidence map and a
  risk-of-bias traffic-light plot, as PNG files.

Promises (tested in ``tests/test_build.py``): every value in HTML is escaped; the same input gives
byte-identical files; each file is written atomically, so a failed build leaves the previous files as
they were; the evidence folder is never written to; the leaflet loads nothing from the network.

This module imports from :mod:`evidencekit.grade.claims` and below, never from the CLI.
"""
from __future__ import annotations

import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..grade.study_names import study_name
from ..jsonout import dumps
from .leaflet import LEAFLET_WORD_LIMIT, render_leaflet
from .presentation import CERTAINTY_WORDS, review_settings
from .templating import md_escape, md_link
from .clinician import render_clinician_summary
from .citations import render_citation_summary
from .pdf import print_pdf
from .readability import (
    READABILITY_LIMIT, READABILITY_TARGET, Readability, claim_readability, claims_of,
    reading_grade)
from .staging import (
    BuildLock, check_folders, fsync_dir, previous_outputs, remove_leftovers, stage_prefix,
    swap_in, terminate_as_interrupt, write_atomic)

__all__ = [
    "READABILITY_TARGET", "READABILITY_LIMIT", "CERTAINTY_WORDS", "LEAFLET_WORD_LIMIT",
    "Readability", "BuildReport", "reading_grade", "claim_readability", "render_leaflet",
    "render_clinician_summary", "render_citation_summary", "claims_json", "render_figures",
    "print_pdf", "write_atomic", "build", "md_escape", "md_link",
]

# ---------------------------------------------------------------------------------------------
# claims.json


def claims_json(claims: Any) -> str:
    """The claims as JSON text, identical to ``evidencekit claims --format json`` (newline-ended)."""
    return dumps(claims.to_dict()) + "\n"


# ---------------------------------------------------------------------------------------------
# figures

#: savefig options that make PNG bytes depend only on the figure: no "Software" text chunk with
#: the matplotlib version, a fixed resolution.
PNG_OPTIONS = {"format": "png", "dpi": 150, "metadata": {"Software": None}}


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # The figures are bare matplotlib Figures (no pyplot): nothing global to close afterwards.
    fig.savefig(buf, **PNG_OPTIONS)
    return buf.getvalue()


def _reported_effects(question: Any, library: Any) -> list[dict[str, Any]]:
    """Reported effect estimates with a CI that a question's evidence lists.

    Where an evidence entry names results, those are used; where it names a whole study, only the
    study's results on the question's outcome domains (a safety question must not plot pain).
    """
    rows = []
    domains = set(getattr(question, "outcome_domains", ()) or ())
    for ev in question.evidence:
        study = library.studies.get(ev.study)
        if study is None:
            continue
        wanted = set(ev.results)
        for r in study.results:
            if getattr(r, "kind", None) != "effect-estimate" or r.ci_low is None:
                continue
            try:
                outcome = study.outcome(r.outcome)
            except KeyError:  # pragma: no cover - records validate this
                continue
            if wanted and r.id not in wanted:
                continue
            if not wanted and domains and outcome.domain not in domains:
                continue
            label = f"{study_name(library, study.id)}, {r.time_point}"
            if r.comparison:
                label += f"\n{r.comparison}"
            # Standardised and ratio measures are scale-free: one panel per outcome domain.
            # Mean differences share an axis only on the same instrument and scale.
            if r.measure == "MD" or r.measure == "other":
                what = outcome.instrument or outcome.domain
                if outcome.scale:
                    what = f"{what}, {outcome.scale}"
            else:
                what = outcome.domain.replace("-", " ")
            rows.append({"label": label, "estimate": r.estimate, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "level": r.ci_level, "measure": r.measure,
                         "outcome": what, "better": outcome.better,
                         "threshold": _threshold_for(question, r.measure, outcome)})
    return rows


def _threshold_for(question: Any, measure: str, outcome: Any) -> dict[str, Any] | None:
    """The question's smallest important effect, when it is on this estimate's scale.

    An SMD threshold applies to any SMD. A mean-difference threshold applies only when the
    outcome's scale names the same range as the threshold (0-100 with 0-100): drawing a 5-point
    band on an MD whose scale the source does not state would invent a comparison the claims
    deliberately do not make.
    """
    important = getattr(question, "important_effect", None)
    if important is None:
        return None
    whose = "our judgement" if important.author_judgement else "published"
    if measure == "SMD" and important.smd is not None:
        return {"value": important.smd, "label": f"SMD {important.smd:g} ({whose})"}
    if measure == "MD":
        span = re.compile(r"0\s*[-–]\s*\d+")
        ours, theirs = span.search(outcome.scale or ""), span.search(important.scale or "")
        if ours and theirs and ours.group(0).replace(" ", "") == theirs.group(0).replace(" ", ""):
            return {"value": important.value, "label": f"{important.value:g} {important.scale} ({whose})"}
    return None


def render_figures(library: Any, claims: Any = None) -> dict[str, bytes]:
    """All figures as PNG bytes by file name (``figures/`` relative names, sorted).

    ``forest-<question>.png`` for each question whose evidence includes reported effect estimates
    with confidence intervals; ``evidence-map.png``; ``risk-of-bias.png``.
    """
    from .evidence_figures import evidence_map, risk_of_bias_plot
    from .figures import reported_effects_plot

    out: dict[str, bytes] = {}
    certainty = {c.question: c.certainty for c in claims_of(claims)} if claims is not None else {}
    intervention = review_settings(library).intervention
    for qid, question in library.questions.items():
        rows = _reported_effects(question, library)
        if rows:
            out[f"forest-{qid}.png"] = _png(reported_effects_plot(
                rows, title=question.title, intervention=intervention))
    out["evidence-map.png"] = _png(evidence_map(library, certainty=certainty))
    out["risk-of-bias.png"] = _png(risk_of_bias_plot(library.studies.values()))
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------
# build




@dataclass(frozen=True)
class BuildReport:
    """What :func:`build` did.

    Attributes
    ----------
    evidence, out
        The folders, as given.
    written
        Files written, relative to ``out`` (POSIX paths, in writing order).
    readability
        One :class:`Readability` per question.
    pdf, pdf_message
        ``"written"``, ``"skipped"`` (no Chromium: not a failure), ``"failed"`` (a warning: the
        HTML is complete) or ``"not attempted"`` (the build stopped earlier, or PDF was turned off).
    problems
        Why the build failed; empty when it succeeded.
    notes
        Other things worth knowing (stale files removed, readability warnings).
    """

    evidence: str
    out: str
    written: tuple[str, ...] = ()
    readability: tuple[Readability, ...] = ()
    pdf: str = "not attempted"
    pdf_message: str = ""
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "evidence": self.evidence,
            "out": self.out,
            "written": list(self.written),
            "readability": [r.to_dict() for r in self.readability],
            "readability_target": READABILITY_TARGET,
            "readability_limit": READABILITY_LIMIT,
            "pdf": {"status": self.pdf, "message": self.pdf_message},
            "problems": list(self.problems),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        lines = []
        if self.ok:
            lines.append(f"Built patient material from {self.evidence} into {self.out}/:")
        else:
            lines.append(f"Build FAILED ({self.evidence} -> {self.out}/); nothing was written.")
            lines.extend(f"  - {p}" for p in self.problems)
        for name in self.written:
            lines.append(f"  wrote {name}")
        if self.readability:
            lines.append(f"Readability (Flesch-Kincaid grade of claim + caveats; target <= "
                         f"{READABILITY_TARGET:g}, fails above {READABILITY_LIMIT:g}):")
            width = max(len(r.question) for r in self.readability)
            for r in self.readability:
                lines.append(f"  {r.question:<{width}}  grade {r.grade:4.1f}  {r.status}")
        if self.pdf_message:
            lines.append(f"PDF: {self.pdf_message}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


def build(evidence_dir: str | Path = "evidence", out_dir: str | Path = "build", *,
          pdf: bool = True, chromium: str | None = None, title: str | None = None) -> BuildReport:
    """Write the patient material for an evidence folder.

    Parameters
    ----------
    evidence_dir
        Folder with ``references.bib``, ``studies/`` and ``questions.yaml``. Only read.
    out_dir
        Output folder (made if missing). Must not be, or lie inside, the evidence folder.
    pdf
        Print ``leaflet.pdf`` with Chromium when it is installed.
    chromium
        A Chromium executable to use instead of the one found on the machine.
    title
        The leaflet's heading; default: the review settings' title (``review.yaml``), or one made
        from the questions' intervention.

    Returns
    -------
    BuildReport
        ``ok`` is False when a question's text reads above grade :data:`READABILITY_LIMIT`; then
        nothing is written, so the previous leaflet stays as it was.

    Raises
    ------
    InputError
        Unreadable or invalid evidence (see :func:`evidencekit.load_library`), a citation
        that does not resolve, or an output folder that cannot be used.

    Notes
    -----
    Everything is rendered in memory first, then written into a staging folder beside ``out``
    (``.<out>.stage-*``, with Chromium's profile), and the staging folder is swapped in for ``out``
    as a whole (one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux). A failure or a kill at any
    moment leaves the old build or the new one, never a mix; a staging folder left by a kill is
    removed by the next build. Builds into one folder are serialised by an ``fcntl.flock`` on
    ``.<out>.lock`` beside it. ``out`` may hold only files a build writes, and no symlinks.
    """
    from ..grade.claims import make_claims
    from ..loading import load_library

    evidence = Path(evidence_dir)
    out = Path(out_dir)
    check_folders(evidence, out)
    library = load_library(evidence)
    claims = make_claims(library, by_comparison=True)
    items = claims_of(claims)

    grades = tuple(claim_readability(c) for c in items)
    problems = tuple(
        f"question '{r.question}' ({r.title}) reads at US grade {r.grade:.1f}, above the limit of "
        f"{READABILITY_LIMIT:g}: shorten its sentences and use shorter words in the claim or caveat "
        "text (claims.py or the study records); caveats may not be dropped to pass"
        for r in grades if r.status == "too hard")
    notes = [f"question '{r.question}' reads at grade {r.grade:.1f}, above the target of "
             f"{READABILITY_TARGET:g}" for r in grades if r.status == "above target"]
    if problems:
        return BuildReport(str(evidence), str(out), readability=grades, problems=problems,
                           notes=tuple(notes))

    from .leaflet import leaflet_model

    figures = render_figures(library, claims)
    # Every caveat stays in the leaflet; text from the evidence folder that uses patient-banned
    # words is kept as written and reported here, so its author can reword it at its source.
    jargon = leaflet_model(claims, library, title=title).jargon_warnings
    notes.extend(f"warning: {w.file}, {w.field} (question '{w.question}'): uses "
                 f"{', '.join(repr(x) for x in w.words)}, words patients should not meet; the "
                 f"caveat is in the leaflet as written; reword it there: {w.text}" for w in jargon)
    forest = {f"figures/{name}" for name in figures}
    files: dict[str, bytes | str] = {
        "leaflet.md": render_leaflet(claims, library, "md", title=title),
        "leaflet.html": render_leaflet(claims, library, "html", title=title),
        "clinician-summary.md": render_clinician_summary(claims, library, "md", figures=forest),
        "clinician-summary.html": render_clinician_summary(claims, library, "html",
                                                           figures=forest),
        "citation-summary.md": render_citation_summary(library, claims),
        "claims.json": claims_json(claims),
    }
    for name, data in figures.items():
        files[f"figures/{name}"] = data

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the output's parent folder ({exc.strerror or exc}); check "
                         "the path", file=str(out)) from None
    with BuildLock(out), terminate_as_interrupt():
        for name in remove_leftovers(out):
            notes.append(f"removed {name} beside the output folder (left by a build that was "
                         "stopped)")
        previous = previous_outputs(out, set(files) | {"leaflet.pdf"})
        stage = Path(tempfile.mkdtemp(prefix=stage_prefix(out), dir=out.parent))
        try:
            new = stage / "out"
            try:
                (new / "figures").mkdir(parents=True)
                for name, data in files.items():
                    write_atomic(new / name, data)
            except OSError as exc:
                raise InputError(f"cannot write the output ({exc.strerror or exc}); check that "
                                 "the folder is writable and the disk has space; the previous "
                                 "build is unchanged", file=str(out)) from None
            written = list(files)
            pdf_status, pdf_message = "not attempted", "leaflet.pdf not requested."
            if pdf:
                pdf_status, pdf_message = print_pdf(new / "leaflet.html", new / "leaflet.pdf",
                                                    chromium=chromium, profile_dir=stage)
                if pdf_status == "written":
                    written.append("leaflet.pdf")
            # Old files the new build does not have are gone with the old folder; say so.
            for name in sorted(previous - set(written)):
                if name == "leaflet.pdf":
                    # A PDF from an earlier build would disagree with the new HTML.
                    notes.append("removed leaflet.pdf from an earlier build (it no longer "
                                 "matches leaflet.html)")
                elif name.startswith("figures/"):
                    notes.append(f"removed {name} (its question has no reported effects now)")
                else:
                    notes.append(f"removed {name} from an earlier build")
            for path in (new, new / "figures"):
                fsync_dir(path)
            try:
                swap_in(new, out, stage / "previous")
            except OSError as exc:
                raise InputError(f"cannot put the new build in place ({exc.strerror or exc}); "
                                 "the previous build is unchanged", file=str(out)) from None
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return BuildReport(str(evidence), str(out), written=tuple(written), readability=grades,
                       pdf=pdf_status, pdf_message=pdf_message, notes=tuple(notes))
