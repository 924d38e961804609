"""Execute the review notebooks from their jupytext sources and write stable .ipynb files.

``make notebooks`` runs this. For each ``notebooks/NN-*.py`` (py:percent, the file reviewers diff):

1. read it with jupytext;
2. execute it top to bottom in a fresh ``python3`` kernel (nbclient) with cwd ``notebooks/``,
   the same kernel and cwd that ``pytest --nbval`` uses, so the stored outputs are the ones nbval
   compares against;
3. write ``notebooks/NN-*.ipynb`` with stable metadata: cell ids ``cell-01``, ``cell-02``, ...,
   no timing metadata, a fixed ``language_info`` without the interpreter's patch version, so that
   re-running with no change gives byte-identical files;
4. rewrite the ``.py`` the way jupytext does when JupyterLab saves (``notebooks/jupytext.toml``'s
   options; its cells are the ones just executed), so that a first save changes nothing.

A notebook whose execution fails is not written: the error is printed and the exit status is 1.

An edit is never overwritten. A notebook saved from JupyterLab with the jupytext extension (the dev
extras install it; ``notebooks/jupytext.toml`` pairs the formats) updates both files, so running
this afterwards keeps the edit and only restores stable ids and metadata. When the ``.ipynb`` is
newer than its ``.py`` and their cells differ (saved without jupytext), executing the older ``.py``
would discard the edit: that notebook is not written, and the message says to run ``jupytext
--sync notebooks/NN-name.ipynb`` first (or ``--discard-ipynb-edits`` to rebuild it anyway).

Usage::

    python scripts/execute_notebooks.py              # all notebooks
    python scripts/execute_notebooks.py 05 01-evidence-library   # a selection (prefix or stem)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL_NAME = "python3"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
# What the ipykernel reports minus "version": the patch version differs between machines and would
# make the committed files churn; JupyterLab needs only the name and the lexer.
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
JUPYTEXT_METADATA = {"formats": "ipynb,py:percent"}
# Per-cell metadata written by front ends or executors that records when/how, not what.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")
TIMEOUT_SECONDS = 600


def sources(selection: list[str] | None = None) -> list[Path]:
    """The paired ``NN-*.py`` sources, sorted, optionally filtered by number prefix or stem."""
    found = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]-*.py"))
    if not selection:
        return found
    chosen = [p for p in found if any(p.stem == s or p.stem.startswith(s) for s in selection)]
    missing = [s for s in selection if not any(p.stem == s or p.stem.startswith(s) for p in found)]
    if missing:
        raise SystemExit(f"no notebook source matches {', '.join(missing)} in {NOTEBOOKS}")
    return chosen


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Fix the metadata and cell ids so the written file depends only on sources and outputs."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict(
        {"jupytext": JUPYTEXT_METADATA, "kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    )
    for number, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{number:02d}"
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                # nbclient does not record these with record_timing=False, but a notebook saved
                # from JupyterLab might; they are never compared by nbval.
                output.get("metadata", {}).pop("execution", None)
    return nb


def execute(source: Path) -> nbformat.NotebookNode:
    """Read a py:percent source and execute it in a fresh kernel with cwd ``notebooks/``."""
    nb = normalise(jupytext.read(source))
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=TIMEOUT_SECONDS,
        record_timing=False,
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute()
    nb = normalise(nb)
    nbformat.validate(nb)
    return nb


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def cells_match(source: Path, target: Path) -> bool:
    """True when the executed ``target`` (.ipynb) holds the same cells as its ``source`` (.py)."""
    return _cells(nbformat.read(target, as_version=4)) == _cells(jupytext.read(source))


def _shown(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def advice(target: Path) -> str:
    """The command that brings ``target`` (.ipynb) back in line with its .py and keeps any edit.

    - same cells (saved from JupyterLab with jupytext: only ids, metadata or outputs differ):
      ``make notebooks`` re-executes the .py, which holds the edit;
    - the .ipynb is newer and its cells differ (saved without jupytext): ``jupytext --sync`` first
      copies its cells into the .py, and only then ``make notebooks``;
    - the .py is newer: it holds the edit; ``make notebooks``.
    """
    source = target.with_suffix(".py")
    if not source.exists():
        return (f"{_shown(source)} is missing: `jupytext --to py:percent {_shown(target)}` writes "
                "it from the notebook (keeping its cells), then `make notebooks`")
    if cells_match(source, target):
        return (f"its cells match {source.name}, so `make notebooks` re-executes them and writes "
                "stable ids and metadata; your edit is kept")
    if target.stat().st_mtime > source.stat().st_mtime:
        return (f"{target.name} is newer than {source.name} and their cells differ (saved without "
                f"jupytext?): run `jupytext --sync {_shown(target)}` to copy its cells into "
                f"{source.name}, then `make notebooks`. Do not run `make notebooks` first: it "
                f"would rebuild {target.name} from the older {source.name} and lose the edit")
    return (f"{source.name} is newer than {target.name}: it holds the edit, so `make notebooks` "
            f"executes it and rewrites {target.name}")


def unsynced_edit(source: Path, target: Path) -> str | None:
    """Why executing ``source`` would discard an edit in ``target``, or None when it would not."""
    if not target.exists() or cells_match(source, target):
        return None
    if target.stat().st_mtime <= source.stat().st_mtime:
        return None
    return advice(target)


def write(nb: nbformat.NotebookNode, target: Path) -> bool:
    """Write ``nb`` as nbformat does (indent 1, sorted keys, final newline); True if it changed."""
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True


def write_source(nb: nbformat.NotebookNode, source: Path) -> bool:
    """Write ``source`` (.py) as jupytext writes it on a save from JupyterLab; True if changed."""
    found = find_jupytext_configuration_file(str(source.parent))
    config = load_jupytext_configuration_file(found) if found else None
    text = jupytext.writes(nb, fmt="py:percent", config=config)
    if source.read_text(encoding="utf-8") == text:
        return False
    source.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="number prefixes or stems (default: all)")
    parser.add_argument("--discard-ipynb-edits", action="store_true",
                        help="rebuild a notebook from its .py even when the .ipynb is newer and "
                             "holds cells the .py lacks (they are lost)")
    args = parser.parse_args(argv)
    failed = []
    for source in sources(args.notebooks):
        target = source.with_suffix(".ipynb")
        unsynced = None if args.discard_ipynb_edits else unsynced_edit(source, target)
        if unsynced:
            failed.append(source.name)
            print(f"NOT WRITTEN {_shown(target)}: {unsynced}", file=sys.stderr)
            continue
        started = time.perf_counter()
        try:
            nb = execute(source)
        except CellExecutionError as error:
            failed.append(source.name)
            print(f"FAILED {source.relative_to(ROOT)}: not written\n{error}", file=sys.stderr)
            continue
        changed = write(nb, target)
        elapsed = time.perf_counter() - started
        state = "written" if changed else "unchanged"
        print(f"{target.relative_to(ROOT)}: {state} ({elapsed:.1f} s)")
        if write_source(nb, source):
            print(f"{source.relative_to(ROOT)}: header rewritten as jupytext writes it")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
