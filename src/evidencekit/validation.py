"""The one gate for a user's evidence: every check of an evidence folder, as one report.

:func:`validate_evidence` is public (re-exported from :mod:`evidencekit`) and is what
``evidencekit validate`` runs. It is every check :func:`evidencekit.loading.load_library` runs
(the folder against itself, wording, decisions, directions against the data) and then the
audit's topic file, which only the audit reads, so loading a library never pays for it.
"""
from __future__ import annotations

from pathlib import Path

from .audit.topics import validate_topics
from .evidence.report import ValidationReport, make_report
from .loading import checked_scan

__all__ = ["validate_evidence"]


def validate_evidence(path: str | Path = "evidence") -> ValidationReport:
    """Read and check an evidence folder; report every problem with file, line, field and fix.

    Parameters
    ----------
    path
        The evidence folder (``references.bib``, ``studies/``, optional ``questions.yaml``).

    Returns
    -------
    ValidationReport
        ``ok`` is false when any error was found. Problems inside the folder (a YAML typo, a
        binary or non-UTF-8 file, an unknown field, a missing BibTeX entry) are errors in the
        report, never exceptions.

    Raises
    ------
    InputError
        Only when the folder itself is missing, not a folder, or cannot be listed (the CLI's
        exit code 2).

    Notes
    -----
    Errors: YAML or BibTeX syntax, unsafe YAML tags, duplicate YAML keys, schema (unknown fields
    with the closest valid name, missing fields, wrong types), impossible values (enforced by
    :mod:`evidencekit.evidence.records`), file name != study id, studies without a BibTeX entry and the
    reverse, duplicate keys, unresolved links and question references. Warnings: CIs not symmetric
    around their estimate beyond :data:`records.ASYMMETRY_TOLERANCE` (kept as printed), imputed
    SDs, results from secondary sources or inference, funding/conflicts not recorded, no
    questions.yaml.
    """
    scan = checked_scan(path)
    scan.out.messages.extend(validate_topics(path))  # the audit's topics live in the folder too
    return make_report(scan)
