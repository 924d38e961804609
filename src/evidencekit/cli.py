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
from pathlib import Path
from typing import Any, Callable

from .errors import InputError
from .jsonout import dumps

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage already; this keeps its message on stderr, prefixed."""

    def error(self, message: str) -> None:  # pragma: no cover - argparse path
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"evidencekit: error: {message}\n")


def print_json(payload: Any) -> None:
    """Print ``payload`` as evidencekit's JSON (see :mod:`evidencekit.jsonout`)."""
    print(dumps(payload))


def _add_format(p: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")) -> None:
    p.add_argument("--format", choices=choices, default="text",
                   help="output format (default: text, for people; json for scripts)")


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
    from .library import validate_evidence

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
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _cmd_studies(args: argparse.Namespace) -> int:
    from .library import load_library

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


def _cmd_pool(args: argparse.Namespace) -> int:
    import warnings

    import pandas as pd

    from .effects import effect_sizes_from_frame
    from .pooling import pool

    path = Path(args.csv)
    try:
        # every column as text first, so a non-number is reported with its column and line
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError("file not found; give the path to a CSV with metafor's column names",
                         file=str(path)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    label = next((c for c in ("study", "label", "slab", "author") if c in frame.columns), None)
    es = effect_sizes_from_frame(frame, args.measure, label_column=label, source=str(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pool(es, method=args.method, ci=args.ci)
    for w in caught:  # e.g. rows with missing values left out: say so, on stderr
        print(f"evidencekit: {path}: warning: {w.message}", file=sys.stderr)
    if args.format == "json":
        print_json(result.to_dict())
    else:
        for note in es.assumptions:
            print(f"assumption: {note}")
        print(result.summary())
    return EXIT_OK


def _cmd_claims(args: argparse.Namespace) -> int:
    from .claims import make_claims
    from .library import load_library

    library = load_library(_evidence_dir(args))
    claims = make_claims(library)
    if args.format == "json":
        print_json(claims.to_dict())
    else:
        print(claims.summary())
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from .render import build

    report = build(_evidence_dir(args), Path(args.out))
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print(report.summary())
    if not report.ok:
        # Also on stderr, so `make run` shows why it stopped even when stdout goes to a file.
        for problem in report.problems:
            print(f"evidencekit: build failed: {problem}", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    from .audit import audit_text, read_page
    from .claims import make_claims
    from .library import load_library

    # Read the page first: a wrong path should not wait for the evidence to load.
    source, fmt = read_page(args.file)
    claims = make_claims(load_library(_evidence_dir(args)))
    report = audit_text(source, claims, source_format=fmt)
    if args.format == "json":
        print_json(report.to_dict())
    elif args.format == "html":
        sys.stdout.write(report.to_html(title=f"Audit of {Path(args.file).name}"))
    else:
        sys.stdout.write(report.summary())
    return EXIT_FINDINGS if args.strict and report.not_supported else EXIT_OK


# ---------------------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evidencekit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "validate", help="load and check the evidence folder",
        epilog="Exit codes: 0 no errors (warnings may be listed); 1 errors found in the evidence "
               "files; 2 bad usage, or the evidence folder is missing or unreadable.")
    p.add_argument("evidence_dir", nargs="?", default=None, metavar="EVIDENCE_DIR",
                   help="evidence folder (default: --evidence or ./evidence)")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("studies", help="print the study table")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_studies)

    p = sub.add_parser("pool", help="meta-analyse a CSV of study data (metafor column names)")
    p.add_argument("csv", metavar="FILE.csv")
    p.add_argument("--measure", required=True,
                   help="MD, SMD, SMCR, SMCC, RR, OR, ROM or GEN (yi, vi given)")
    p.add_argument("--method", default="REML",
                   help="tau² estimator: REML (default), DL, PM, ML, HS, SJ, HE, EB, or FE")
    p.add_argument("--ci", choices=("wald", "hksj"), default="wald",
                   help="interval for the pooled estimate (default: wald)")
    _add_format(p)
    p.set_defaults(func=_cmd_pool)

    p = sub.add_parser("claims", help="the claims and caveats patient material may carry")
    _add_evidence(p)
    _add_format(p)
    p.set_defaults(func=_cmd_claims)

    p = sub.add_parser("build", help="write the leaflet, citation summary, claims.json and figures")
    _add_evidence(p)
    p.add_argument("--out", default="build", metavar="DIR", help="output folder (default: build/)")
    _add_format(p)
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("audit", help="check an existing patient page sentence by sentence")
    p.add_argument("file", metavar="FILE")
    _add_evidence(p)
    _add_format(p, ("text", "json", "html"))
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when any finding is not 'supported'")
    p.set_defaults(func=_cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
