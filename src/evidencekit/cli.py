"""The ``evidencekit`` command.

Exit codes (DESIGN.md): 0 success, 1 findings (validation errors; audit findings with ``--strict``),
2 bad usage or unreadable input. A user's mistake never ends in a traceback: every
:class:`~evidencekit.errors.InputError` is printed as ``file:line [field]: message``.

Each subcommand lives in a ``_cmd_<name>`` function that returns an exit code; the parsers are built
in ``_build_parser``. Heavy modules are imported inside the subcommand that needs them, so
``evidencekit --help`` stays fast.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

from .errors import InputError
from .jsonout import dumps

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT (128 + 2)


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage already; this keeps its message on stderr, prefixed."""

    def error(self, message: str) -> None:  # pragma: no cover - argparse path
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"evidencekit: error: {message}\n")


def print_json(payload: Any) -> None:
    """Print ``payload`` as evidencekit's JSON (see :mod:`evidencekit.jsonout`)."""
    print(dumps(payload))


def _print_report(args: argparse.Namespace, report: Any) -> None:
    """A command's result as ``--format`` asks: its ``to_dict()`` as JSON, else its ``summary()``."""
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print(report.summary())


def _add_format(p: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")) -> None:
    extra = "; html: the page with its findings highlighted" if "html" in choices else ""
    p.add_argument("--format", choices=choices, default="text",
                   help=f"output format (default: text, for people; json for scripts{extra})")


def _add_evidence(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evidence", metavar="DIR", default=None,
                   help="evidence folder with references.bib, studies/ and questions.yaml "
                        "(default: ./evidence)")


def _evidence_dir(args: argparse.Namespace, positional: str | None = None) -> Path:
    chosen = positional or getattr(args, "evidence", None) or "evidence"
    return Path(chosen)


# ---------------------------------------------------------------------------------------------
# subcommands


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validation import validate_evidence

    try:
        report = validate_evidence(_evidence_dir(args, args.evidence_dir))
    except InputError as exc:
        # The folder itself is missing or unreadable (exit 2). Scripts asking for JSON still get
        # JSON, in the same shape as a report.
        if args.format != "json":
            raise
        print_json({"ok": False, "studies": 0, "study_ids": [], "numbers": 0,
                    "numbers_with_provenance": 0, "errors": [exc.as_message().to_dict()],
                    "warnings": []})
        return EXIT_USAGE
    _print_report(args, report)
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _cmd_studies(args: argparse.Namespace) -> int:
    from .loading import load_library

    library = load_library(_evidence_dir(args))
    frame = library.studies_frame()
    if args.format == "json":
        # pd.NA is not JSON; missing values become null.
        rows = frame.reset_index().astype(object)
        rows = rows.where(rows.notna(), None)
        print_json({"studies": rows.to_dict(orient="records")})
    else:
        import pandas as pd

        table = frame[["short_title", "design", "n", "population", "follow_up", "risk_of_bias",
                       "results"]].astype(object)
        table = table.where(table.notna(), "")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            # to_string ignores display.max_colwidth; long descriptions are cut here instead.
            print(table.to_string(max_colwidth=40))
    return EXIT_OK


def _check_pool_options(args: argparse.Namespace) -> None:
    """Unknown --measure/--method name the option, before the CSV is read."""
    from .stats.effects import MEASURES
    from .stats.pool_report import TABLE_METHODS
    from .stats.tau2 import METHODS

    if args.measure.upper() not in MEASURES:
        raise InputError(f"unknown measure {args.measure!r}: use one of {', '.join(MEASURES)} "
                         "(see `evidencekit pool --help` for the columns each needs)",
                         field="--measure")
    if args.method.upper() not in METHODS + TABLE_METHODS:
        raise InputError(f"unknown method {args.method!r}: use one of "
                         f"{', '.join(METHODS + TABLE_METHODS)} (default: REML)",
                         field="--method")


def _cmd_pool(args: argparse.Namespace) -> int:
    from .stats.pool_report import pool_table

    from .io import read_csv_table

    _check_pool_options(args)
    path = Path(args.csv)
    frame = read_csv_table(path)
    label = next((c for c in ("study", "label", "slab", "author") if c in frame.columns), None)
    report = pool_table(frame, args.measure, method=args.method, ci=args.ci,
                        subgroup=args.subgroup, moderators=args.moderator or (),
                        bias=args.bias, label_column=label, source=str(path))
    for message in report.warnings:  # e.g. rows with missing values left out: say so, on stderr
        print(f"evidencekit: {path}: warning: {message}", file=sys.stderr)
    _print_report(args, report)
    return EXIT_OK


def _cmd_claims(args: argparse.Namespace) -> int:
    from .grade.claims import make_claims
    from .loading import load_library

    library = load_library(_evidence_dir(args))
    claims = make_claims(library, by_comparison=True)
    _print_report(args, claims)
    return EXIT_OK


def _cmd_new(args: argparse.Namespace) -> int:
    from .evidence.importer import new_review

    written = new_review(args.dir, args.intervention, args.title)
    if args.format == "json":
        print_json({"written": [str(p) for p in written]})
    else:
        print(f"new review in {args.dir}: " + ", ".join(p.name for p in written))
        print(f"next: evidencekit import FILE.csv --evidence {args.dir} --question ID ...")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from .evidence.importer import import_rows
    from .io import read_csv_table, read_csv_text

    path = Path(args.csv)
    text = read_csv_text(path)
    frame = read_csv_table(path, text)
    # the rows as written, quoted as each imported number's provenance
    raw = dict(enumerate(text.splitlines(), start=1))
    report = import_rows(frame, str(path), _evidence_dir(args), question=args.question,
                         measure=args.measure, outcome=args.outcome, population=args.population,
                         better="lower" if args.lower_is_better else "higher",
                         comparator=args.comparator, time=args.time,
                         important_effect=args.important_effect, raw_lines=raw)
    for w in report.warnings:
        print(f"evidencekit: warning: {w}", file=sys.stderr)
    _print_report(args, report)
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from .outputs.build import build

    report = build(_evidence_dir(args), Path(args.out))
    _print_report(args, report)
    if not report.ok:
        # Also on stderr, so `make run` shows why it stopped even when stdout goes to a file.
        for problem in report.problems:
            print(f"evidencekit: build failed: {problem}", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    from .audit import audit_text, load_topics, read_page
    from .audit.batch import audit_pages, collect_pages, write_csv, write_jsonl
    from .grade.claims import make_claims
    from .errors import InputError
    from .loading import load_library

    if args.format in ("csv", "jsonl"):
        pages = collect_pages(args.files)
        evidence = _evidence_dir(args)
        load_topics(evidence)  # a bad topic file stops here, once, naming the file
        results = audit_pages(pages, evidence)
        writer = write_csv if args.format == "csv" else write_jsonl
        bad = writer(results, sys.stdout)
        return EXIT_FINDINGS if args.strict and bad else EXIT_OK
    if len(args.files) != 1:
        raise InputError(f"--format {args.format} audits one page; for {len(args.files)} pages use "
                         "--format csv or --format jsonl", field="--format")
    file = args.files[0]
    # Read the page first: a wrong path should not wait for the evidence to load.
    source, fmt = read_page(file)
    evidence = _evidence_dir(args)
    claims = make_claims(load_library(evidence))
    report = audit_text(source, claims, topics=load_topics(evidence), source_format=fmt)
    if report.sentences == 0:
        # Exit 0 (the audit ran), but an empty result is far more often a wrong or unrendered file
        # than a page with no words, so say so where a person or CI log will see it.
        print(f"evidencekit: {file}: warning: no text to audit (the page is empty or holds "
              "only markup and scripts); check the file, and for a page built by JavaScript save "
              "it from the browser once it has loaded, or paste its text into a .txt file",
              file=sys.stderr)
    if args.format == "json":
        print_json(report.to_dict())
    else:
        out = (report.to_html(title=f"Audit of {Path(file).name}") if args.format == "html"
               else report.summary())
        # end with a newline, so the shell prompt does not follow the last line
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return EXIT_FINDINGS if args.strict and report.not_supported else EXIT_OK


# ---------------------------------------------------------------------------------------------


_DESCRIPTION = (
    "Review clinical evidence: check the study records, meta-analyse, write the claims and "
    "caveats patient material may carry, build the leaflet, and audit an existing patient page.")

_EPILOG = (
    "Every command that reports takes --format json (text by default), and every command that "
    "reads evidence takes --evidence DIR (default: ./evidence). Exit codes: 0 success; 1 "
    "findings (validation errors, audit findings with --strict); 2 bad usage or unreadable "
    "input. Run `evidencekit COMMAND --help` for a command's options.")

_POOL_EPILOG = """\
CSV columns (metafor's argument names; a study, label, slab or author column
labels the rows; an empty cell is a missing value, and a study with one is
left out with a warning):
  MD, SMD, ROM      m1i,sd1i,n1i,m2i,sd2i,n2i  (mean, SD, n of groups 1, 2)
  RR, OR, RD        ai,bi,ci,di or ai,n1i,ci,n2i  (events, non-events or n)
  PR, PLO, PFT, PAS xi,ni                      (events, n of one group)
  COR, ZCOR         ri,ni                      (correlation, sample size)
  IRR               x1i,t1i,x2i,t2i            (events, person-time, 1 and 2)
  IR                xi,ti                      (events, person-time)
  SMCR              m1i,m2i,sd1i,ni,ri         (post, pre mean, pre SD, n, r)
  SMCC              m1i,m2i,sd1i,sd2i,ni,ri
  GEN               yi,vi                      (effect size, sampling variance)
Ratio measures (RR, OR, IRR, ROM) are pooled and printed on the log scale, as
metafor prints them. --method MH (OR, RR, RD) and PETO (OR) pool the 2x2
tables themselves. --subgroup COLUMN fits each subgroup with its own tau² and
tests for subgroup differences; --moderator COLUMN (repeatable) fits a
meta-regression; --bias adds Egger's test and trim-and-fill on the fitted
model. The output names every default used: the tau² estimator, the CI and
prediction-interval methods, and the Q-profile interval for tau².
Exit codes: 0 pooled; 2 bad usage, an unreadable CSV, or data that cannot be
computed in floating point."""

_AUDIT_EPILOG = (
    "Each health-claim sentence gets a verdict (supported, overstated, unsupported, "
    "contradicted, mechanism-as-fact), the reason, and the wording the evidence allows "
    "(docs/audit.md). The page is read as HTML (.html, .htm), Markdown (.md) or plain text, "
    "encoded as UTF-8 (or UTF-16/32 with a byte-order mark). Exit codes: 0 the audit ran; 1 "
    "--strict and a finding is not 'supported'; 2 bad usage, an unreadable page or evidence "
    "that does not load. The topic knowledge (the treatment's names, topic words per question, "
    "comparators) comes from the evidence folder's audit-topics.yaml, or from its questions.yaml "
    "when there is none. Many pages: give files or folders with --format csv or jsonl (one row "
    "per finding plus one per page; pages audited in parallel, a progress bar on a terminal).")


def _subparser(sub, name: str, summary: str, description: str | None = None,
               epilog: str | None = None) -> argparse.ArgumentParser:
    """A subcommand with a --help description (by default its one-line summary) and epilog.
    Text is wrapped to 79 columns, except an epilog already laid out in lines (pool's table)."""
    description = description or summary[:1].upper() + summary[1:] + "."
    if epilog and "\n" not in epilog:
        epilog = textwrap.fill(epilog, 79, break_on_hyphens=False)
    description = textwrap.fill(description, 79, break_on_hyphens=False)
    return sub.add_parser(name, help=summary, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="evidencekit", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")

    p = _subparser(
        sub, "validate", "load and check the evidence folder",
        "Load and check the evidence folder: study schema, impossible values, cross-references "
        "and BibTeX. Every message names the file, line and field, and says what to do.",
        "Exit codes: 0 no errors (warnings may be listed); 1 errors found in the evidence "
        "files; 2 bad usage, or the evidence folder is missing or unreadable.")
    p.add_argument("evidence_dir", nargs="?", default=None, metavar="EVIDENCE_DIR",
                   help="evidence folder (default: --evidence, else ./evidence)")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_validate)

    p = _subparser(sub, "studies", "print the study table (one row per study)")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_studies)

    p = _subparser(
        sub, "pool", "meta-analyse a CSV of study data (metafor column names)",
        "Meta-analyse a CSV of study data: per-study effect sizes as R metafor's escalc, then "
        "a random-effects model (REML) as rma.uni.", _POOL_EPILOG)
    p.add_argument("csv", metavar="FILE.csv",
                   help="comma-separated file, one study per line, UTF-8; columns below")
    p.add_argument("--measure", required=True,
                   help="effect measure: MD, SMD, SMCR, SMCC, RR, OR, RD, ROM, PR, PLO, PFT, "
                        "PAS, COR, ZCOR, IRR, IR, or GEN (yi, vi given)")
    p.add_argument("--method", default="REML",
                   help="tau² estimator: REML (default), DL, PM, ML, HS, SJ, HE, EB; FE "
                        "(common effect); or MH (Mantel-Haenszel) / PETO for 2x2 tables")
    p.add_argument("--ci", choices=("wald", "hksj"), default="wald", type=str.lower,
                   help="interval for the pooled estimate: wald (default, normal quantile) or "
                        "hksj (Hartung-Knapp-Sidik-Jonkman, t with k-1 df)")
    p.add_argument("--subgroup", metavar="COLUMN", default=None,
                   help="subgroup analysis by this column: a separate tau² per subgroup and "
                        "the test for subgroup differences")
    p.add_argument("--moderator", metavar="COLUMN", action="append", default=None,
                   help="meta-regression on this numeric column (repeat for several; "
                        "intercept first, then in the order given)")
    p.add_argument("--bias", action="store_true",
                   help="Egger's test (metafor's regtest default) and trim-and-fill on the "
                        "fitted model")
    _add_format(p)
    p.set_defaults(func=_cmd_pool)

    p = _subparser(sub, "claims", "the claims and caveats patient material may carry",
                   "The claim, certainty, caveats and citations per review question.")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_claims)

    p = _subparser(sub, "new", "start a new review: a skeleton evidence folder",
                   "Write a skeleton evidence folder (review.yaml, an empty references.bib, "
                   "studies/, questions.yaml and a commented study template) that `evidencekit "
                   "validate` accepts.",
                   "Exit codes: 0 written; 2 bad usage or the folder exists and is not empty "
                   "(nothing is overwritten).")
    p.add_argument("dir", metavar="DIR", help="the new evidence folder (must not exist yet)")
    p.add_argument("--intervention", required=True, metavar="TEXT",
                   help="the intervention as a noun phrase, e.g. 'BCG vaccination'")
    p.add_argument("--title", default=None, metavar="TEXT", help="the review's title")
    _add_format(p)
    p.set_defaults(func=_cmd_new)

    p = _subparser(sub, "import", "add studies to a review from a CSV (one study per row)",
                   "Add one study record per CSV row (provenance 'FILE, row N' with the row as "
                   "the quote), a BibTeX entry per new key, and the question they answer "
                   "(created or extended). Columns: study (the BibTeX key), optional author, "
                   "year, title, design (rct, non-randomised, cohort, case-control, "
                   "case-series, ...), and data in metafor's names: m1i,sd1i,n1i,m2i,sd2i,n2i "
                   "(MD, SMD); ai,bi,ci,di or ai,n1i,ci,n2i (RR, OR, RD); xi,ni (PLO, PR); "
                   "estimate,ci_low,ci_high (a printed estimate and 95% CI, ratios on their "
                   "natural scale); yi,vi (GEN).",
                   "Rows with an empty data cell are skipped with a warning; empty author or "
                   "year are warnings. Re-importing the same file changes nothing. Exit codes: "
                   "0 imported; 2 bad usage or an unreadable CSV.")
    p.add_argument("csv", metavar="FILE.csv", help="the table of studies, UTF-8, commas")
    _add_evidence(p)
    p.add_argument("--question", required=True, metavar="ID", help="question id, e.g. 'tb'")
    p.add_argument("--measure", required=True, type=str.upper,
                   help="MD, SMD, RR, OR, RD, PLO, PR, HR, IRR or GEN")
    p.add_argument("--outcome", required=True, metavar="TEXT", help="the outcome, in words")
    p.add_argument("--population", required=True, metavar="TEXT", help="who, in words")
    better = p.add_mutually_exclusive_group(required=True)
    better.add_argument("--lower-is-better", action="store_true",
                        help="lower values (fewer events) are better for patients")
    better.add_argument("--higher-is-better", action="store_true",
                        help="higher values are better for patients")
    p.add_argument("--comparator", default=None, metavar="TEXT",
                   help="what the intervention was compared with, e.g. 'placebo'")
    p.add_argument("--time", default=None, metavar="TEXT", help="the time window, in words")
    p.add_argument("--important-effect", type=float, default=None, metavar="X",
                   help="smallest effect that matters, on the measure's scale (a ratio for "
                        "RR/OR, e.g. 0.8)")
    _add_format(p)
    p.set_defaults(func=_cmd_import)

    p = _subparser(
        sub, "build", "write the leaflet, citation summary, claims.json and figures",
        "Write the patient leaflet (Markdown, HTML, and PDF where Chromium is present), the "
        "citation summary, claims.json and figures into the output folder.",
        "Exit codes: 0 built; 1 a check failed (e.g. readability above grade 10) and nothing "
        "was replaced; 2 bad usage, evidence that does not load, or an output folder that "
        "cannot be written.")
    _add_evidence(p)
    p.add_argument("--out", default="build", metavar="DIR", help="output folder (default: build/)")
    _add_format(p)
    p.set_defaults(func=_cmd_build)

    p = _subparser(sub, "audit", "check an existing patient page sentence by sentence",
                   "Check an existing patient page's health claims against the evidence, "
                   "sentence by sentence.", _AUDIT_EPILOG)
    p.add_argument("files", nargs="+", metavar="FILE_OR_DIR",
                   help="the page(s): .html, .md or plain text; a folder is searched for pages "
                        "(several pages need --format csv or jsonl)")
    _add_evidence(p)
    _add_format(p, ("text", "json", "html", "csv", "jsonl"))
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when any finding is not 'supported' (for CI)")
    p.set_defaults(func=_cmd_audit)
    return parser


class _TerminalSafe:
    """A text stream that escapes control characters (ESC, CR, ...) and bidi overrides on write.

    Every command's output passes through it, so a value or a file name from the input cannot send
    terminal escape sequences or reorder what is shown. JSON is unaffected (it escapes them itself).
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from .errors import terminal_safe

        return self._stream.write(terminal_safe(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TerminalSafe(out), _TerminalSafe(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: list[str] | None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except InputError as exc:
        print(f"evidencekit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `evidencekit studies | head`
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C during a long build or audit: no traceback either
        print("evidencekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
