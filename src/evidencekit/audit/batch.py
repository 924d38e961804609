"""Auditing many pages: one row per finding plus a summary row per page, pages in parallel.

For people who audit many pages at once (health-information researchers, a clinic group's web
team): ``evidencekit audit DIR_OR_FILES... --format csv|jsonl``. Pages are audited in worker
processes (one per core, :class:`concurrent.futures.ProcessPoolExecutor`), each of which loads the
evidence once; rows come back in the order the pages were given, so the output is the same however
many cores ran it.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import InputError

__all__ = ["PAGE_SUFFIXES", "PageResult", "collect_pages", "audit_pages", "rows", "write_csv",
           "write_jsonl", "CSV_COLUMNS"]

#: File endings a folder is searched for.
PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".md", ".markdown", ".txt")
#: The CSV columns, one row per finding (``kind=finding``) and one per page (``kind=page``).
CSV_COLUMNS = ("page", "kind", "line", "start", "end", "verdict", "text", "reason", "suggestion",
               "evidence", "questions", "sentences", "claims", "not_supported", "error")


@dataclass(frozen=True)
class PageResult:
    """One page's audit: its findings and summary (JSON dicts), or the error that stopped it."""

    page: str
    findings: tuple[dict, ...] = ()
    summary: dict | None = None
    error: str | None = None


def collect_pages(paths: Iterable[str | Path]) -> list[Path]:
    """The pages to audit: files as given, folders searched (recursively, sorted) for pages.

    Raises
    ------
    InputError
        A path that does not exist, or a folder with no page in it.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in PAGE_SUFFIXES
                           and f.is_file())
            if not found:
                raise InputError(f"no pages in this folder (looked for "
                                 f"{', '.join(PAGE_SUFFIXES)})", file=str(p))
            out += found
        elif p.exists() or p.is_symlink():
            out.append(p)
        else:
            raise InputError("file not found", file=str(p))
    return list(dict.fromkeys(out))


_WORKER: dict[str, Any] = {}


def _init_worker(evidence: str) -> None:
    from ..grade.claims import make_claims
    from ..validation import load_library
    from .topics import load_topics

    _WORKER["claims"] = make_claims(load_library(evidence))
    _WORKER["topics"] = load_topics(evidence)


def _audit_one(page: str) -> PageResult:
    from . import audit_text
    from .pages import read_page

    try:
        source, fmt = read_page(page)
        report = audit_text(source, _WORKER["claims"], topics=_WORKER["topics"],
                            source_format=fmt).to_dict()
    except InputError as exc:
        return PageResult(page=page, error=str(exc))
    return PageResult(page=page, findings=tuple(report["findings"]), summary=report["summary"])


def audit_pages(pages: Iterable[str | Path], evidence: str | Path, *, workers: int | None = None,
                progress: bool | None = None) -> Iterator[PageResult]:
    """Audit pages against one evidence folder, in parallel; results in the order given.

    ``workers`` defaults to the machine's cores (one process for a single page); ``progress``
    (default: stderr is a terminal) draws a progress bar on stderr.
    """
    pages = [str(p) for p in pages]
    evidence = str(evidence)
    workers = workers or min(len(pages), os.cpu_count() or 1)
    show = sys.stderr.isatty() if progress is None else progress
    done = 0

    def tick() -> None:
        if show:
            width = 30
            filled = width * done // max(1, len(pages))
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{len(pages)} pages")
            sys.stderr.flush()

    if workers <= 1:
        _init_worker(evidence)
        for page in pages:
            yield _audit_one(page)
            done += 1
            tick()
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(evidence,)) as pool:
            for result in pool.map(_audit_one, pages, chunksize=1):
                yield result
                done += 1
                tick()
    if show:
        sys.stderr.write("\n")


def rows(results: Iterable[PageResult]) -> Iterator[dict]:
    """Flat rows: each finding (``kind: finding``), then the page's summary (``kind: page``)."""
    for r in results:
        for f in r.findings:
            yield {"page": r.page, "kind": "finding", **f}
        s = r.summary or {}
        yield {"page": r.page, "kind": "page", "sentences": s.get("sentences"),
               "claims": s.get("claims"), "not_supported": s.get("not_supported"),
               "verdicts": s.get("verdicts"), "error": r.error}


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    text = "" if value is None else str(value)
    # a cell that a spreadsheet would run as a formula is quoted as text (OWASP CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(results: Iterable[PageResult], out: io.TextIOBase) -> int:
    """CSV with :data:`CSV_COLUMNS`; returns the number of findings that are not ``supported``."""
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    bad = 0
    for row in rows(results):
        if row["kind"] == "finding" and row.get("verdict") != "supported":
            bad += 1
        w.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return bad


def write_jsonl(results: Iterable[PageResult], out: io.TextIOBase) -> int:
    """One JSON object per line (findings and page summaries); returns the not-supported count."""
    bad = 0
    for row in rows(results):
        if row["kind"] == "finding" and row.get("verdict") != "supported":
            bad += 1
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return bad
