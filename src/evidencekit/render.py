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
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from . import markup
from .errors import InputError
from .jsonout import dumps
from .leaflet import LEAFLET_WORD_LIMIT, render_leaflet
from .presentation import CERTAINTY_WORDS, review_settings
from .templating import md_escape, md_link
from .clinician import render_clinician_summary
from .citations import render_citation_summary

__all__ = [
    "READABILITY_TARGET", "READABILITY_LIMIT", "CERTAINTY_WORDS", "LEAFLET_WORD_LIMIT",
    "Readability", "BuildReport", "reading_grade", "claim_readability", "render_leaflet",
    "render_clinician_summary", "render_citation_summary", "claims_json", "render_figures",
    "find_chromium", "print_pdf", "write_atomic", "build", "md_escape", "md_link",
]

#: Claim and caveat text should read at US school grade 8 or below (Flesch-Kincaid). Health-literacy
#: guidance for patient material (e.g. NIH/AMA plain-language advice) asks for grade 6-8.
READABILITY_TARGET = 8.0
#: Above this grade a question's text fails the build: text this hard loses many readers, so it is
#: rewritten (in claims.py or the records), never shipped. Between target and limit: a warning.
READABILITY_LIMIT = 10.0


def _claims_of(claims: Any) -> tuple[Any, ...]:
    return tuple(getattr(claims, "claims", claims))


# ---------------------------------------------------------------------------------------------
# readability


class Readability(NamedTuple):
    """How hard one question's claim and caveats are to read.

    ``status`` is ``"ok"`` (grade <= target), ``"above target"`` (target < grade <= limit: a warning)
    or ``"too hard"`` (grade > limit: the build fails).
    """

    question: str
    title: str
    grade: float
    status: str

    def to_dict(self) -> dict:
        return self._asdict()


_WORD_RE = re.compile(r"[^\w\s']")


def reading_grade(text: str) -> float:
    """US school grade needed to read ``text`` (Flesch-Kincaid), rounded to 0.1.

    Parameters
    ----------
    text
        Plain text, one or more sentences.

    Returns
    -------
    float
        The grade; 0.0 for text without words.

    Notes
    -----
    Flesch-Kincaid grade = 0.39 (words / sentences) + 11.8 (syllables / words) - 15.59
    (Kincaid JP et al., 1975, Research Branch Report 8-75, Naval Technical Training Command).

    Sentences are counted by ``textstat.sentence_count``; words and syllables as textstat counts them
    when it has no pronouncing dictionary: punctuation except apostrophes removed, syllables from the
    pyphen en_US hyphenation dictionary (hyphenation points + 1). textstat >= 0.7.4's
    ``flesch_kincaid_grade`` first tries to *download* NLTK's CMU dictionary at run time for English;
    that is a network load during a build, fails offline, and gives different grades on machines
    with and without the dictionary. Counting here keeps the grade offline and identical everywhere.
    ``tests/test_render.py`` checks the result equals textstat's own formula on its pyphen path.
    """
    import pyphen
    import textstat

    words = _WORD_RE.sub("", text).lower().split()
    if not words:
        return 0.0
    sentences = max(1, textstat.sentence_count(text))
    dic = pyphen.Pyphen(lang="en_US")
    syllables = sum(len(dic.positions(word)) + 1 for word in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return round(grade, 1)


def _sentence(text: str) -> str:
    # A caveat without a full stop would run into the next one and count as one long sentence.
    text = " ".join(str(text).split())
    return text if not text or text[-1] in ".!?" else text + "."


def claim_readability(claim: Any) -> Readability:
    """Grade the text a reader sees for one question: the claim and all its caveats.

    Parameters
    ----------
    claim
        A :class:`evidencekit.grade.claims.Claim` (``question``, ``title``, ``claim``, ``caveats``).
    """
    text = " ".join(_sentence(t) for t in (claim.claim, *claim.caveats) if str(t).strip())
    grade = reading_grade(text)
    if grade > READABILITY_LIMIT:
        status = "too hard"
    elif grade > READABILITY_TARGET:
        status = "above target"
    else:
        status = "ok"
    return Readability(claim.question, claim.title, grade, status)


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
            ref = library.references.get(study.id)
            who = ref.short_citation() if ref is not None and hasattr(ref, "short_citation") \
                else study.short_title
            label = f"{who}, {r.time_point}"
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
    from . import plots

    out: dict[str, bytes] = {}
    certainty = {c.question: c.certainty for c in _claims_of(claims)} if claims is not None else {}
    intervention = review_settings(library).intervention
    for qid, question in library.questions.items():
        rows = _reported_effects(question, library)
        if rows:
            out[f"forest-{qid}.png"] = _png(plots.reported_effects_plot(
                rows, title=question.title, intervention=intervention))
    out["evidence-map.png"] = _png(plots.evidence_map(library, certainty=certainty))
    out["risk-of-bias.png"] = _png(plots.risk_of_bias_plot(library.studies.values()))
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------
# writing


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, making its folder if needed.

    See :func:`evidencekit.io.atomic_write_bytes`; outputs are ordinary documents (0644).
    """
    from .io import atomic_write_bytes

    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data, mode=0o644)


# ---------------------------------------------------------------------------------------------
# PDF


#: Chromium flags for printing: headless, no network chatter of its own, a throwaway profile.
#: --no-pdf-header-footer keeps the date and the file path out of the page margins (both would
#: make two builds differ and leak a local path); --print-to-pdf-no-header is its older name.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-dev-shm-usage", "--no-pdf-header-footer", "--print-to-pdf-no-header",
)
#: Seconds Chromium may take to print before the build gives up on the PDF.
CHROMIUM_TIMEOUT = 120

# Skia writes the print time into the PDF's Info dictionary; these become a fixed date of the same
# length, so byte offsets in the cross-reference table stay valid and two builds are identical.
_PDF_DATE_RE = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})")


def find_chromium() -> str | None:
    """Path of a Chromium executable (``/usr/bin/chromium`` or ``chromium`` on PATH), or None."""
    for candidate in ("/usr/bin/chromium",):
        if os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _normalise_pdf(data: bytes) -> bytes:
    return _PDF_DATE_RE.sub(lambda m: b"/" + m.group(1) + b" (D:20000101000000", data)


# Chromium is started by this small watchdog, the leader of a new process group. Linux sends the
# watchdog SIGTERM when the build process dies, even by kill -9 (PR_SET_PDEATHSIG), and it then
# kills the whole group: Chromium and the renderer and GPU helpers it starts. Elsewhere the group
# is still killed on timeout, Ctrl-C and SIGTERM of the build.
_WATCHDOG = """
import ctypes, os, signal, subprocess, sys
def end(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, end)
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    end()
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
code = child.wait()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
try:
    os.killpg(0, signal.SIGTERM)
except OSError:
    pass
sys.exit(code if code >= 0 else 128 - code)
"""


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group (Chromium starts renderer and GPU processes)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


def run_chromium(cmd: Sequence[str], timeout: float) -> tuple[int, bytes]:
    """Run ``cmd`` in its own process group; kill the whole group on timeout or interruption.

    Returns
    -------
    (returncode, stderr)

    Raises
    ------
    subprocess.TimeoutExpired
        After the group was killed.
    """
    import sys

    if os.name == "posix":
        cmd = [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *cmd]
    proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except BaseException:
        # Timeout, Ctrl-C, SIGTERM (see _terminate_as_interrupt): nothing of Chromium survives.
        _kill_group(proc)
        raise
    # Chromium's helpers may outlive its main process; they belong to the same group.
    _kill_group(proc)
    return proc.returncode, err or b""


def print_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None,
              timeout: float = CHROMIUM_TIMEOUT, profile_dir: str | Path | None = None
              ) -> tuple[str, str]:
    """Print an HTML file to PDF with headless Chromium, atomically.

    Parameters
    ----------
    html_path, pdf_path
        The page to print and where the PDF goes.
    chromium
        The executable; found with :func:`find_chromium` when not given.
    timeout
        Seconds before Chromium's process group is killed and the PDF given up.
    profile_dir
        Folder under which Chromium's throwaway profile is made (default: the PDF's folder), so
        that a build killed mid-print leaves it inside its own staging folder, removed by the next
        build, rather than in the system's temporary folder.

    Returns
    -------
    (status, message)
        ``status`` is ``"written"``, ``"skipped"`` (no Chromium) or ``"failed"``; the message says
        what happened and, when skipped or failed, what to do.

    Notes
    -----
    Chromium runs in its own process group (``start_new_session``) under a small watchdog that
    kills the group when the build dies (``PR_SET_PDEATHSIG`` on Linux, so also after kill -9); on
    timeout, Ctrl-C or SIGTERM the build kills the whole group and removes the profile folder.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        return ("skipped", "leaflet.pdf not written: Chromium is not installed. Install it "
                           "(Debian/Ubuntu: apt-get install chromium) and run the build again, or "
                           "print leaflet.html from a browser.")
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{pdf_path.name}.", suffix=".tmp", dir=pdf_path.parent)
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(prefix=".chromium-profile-",
                                         dir=profile_dir or pdf_path.parent) as profile:
            cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--print-to-pdf={tmp}", html_path.as_uri()]
            try:
                returncode, stderr = run_chromium(cmd, timeout)
            except subprocess.TimeoutExpired:
                return ("failed", f"leaflet.pdf not written: Chromium did not finish within "
                                  f"{timeout:g} s; leaflet.html is complete, print it from a browser.")
            except OSError as exc:
                return ("failed", f"leaflet.pdf not written: could not start {chromium} "
                                  f"({exc.strerror}).")
        data = Path(tmp).read_bytes()
        if returncode != 0 or not data.startswith(b"%PDF"):
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return ("failed", f"leaflet.pdf not written: Chromium exited with code "
                              f"{returncode} ({tail[0][:200]}).")
        write_atomic(pdf_path, _normalise_pdf(data))
        return ("written", f"leaflet.pdf written with {Path(chromium).name}.")
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


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


def _check_folders(evidence: Path, out: Path) -> None:
    ev, o = evidence.resolve(), out.resolve()
    if o == ev or ev in o.parents:
        raise InputError("the output folder is the evidence folder or inside it; build never "
                         "writes into its inputs: choose another --out (e.g. build/)",
                         file=str(out))
    if o in ev.parents:
        raise InputError("the output folder contains the evidence folder; choose an --out that "
                         "does not hold the evidence (e.g. build/)", file=str(out))
    if out.is_symlink():
        raise InputError(f"the output folder is a symlink (to {os.path.realpath(out)}); build "
                         "replaces the folder as a whole and never writes through links: give "
                         "the real folder as --out", file=str(out))
    if o.exists() and not o.is_dir():
        raise InputError("the output path exists and is not a folder; choose another --out",
                         file=str(out))


#: Files an earlier build may have left in ``--out`` (also of earlier versions): a folder holding
#: only these, plus what this build writes, may be replaced as a whole.
BUILD_OUTPUT_NAMES = frozenset({
    "leaflet.md", "leaflet.html", "leaflet.pdf", "citation-summary.md", "claims.json",
    "clinician-summary.md", "clinician-summary.html",
})
_FIGURE_RE = re.compile(r"^figures/[\w.-]+\.(?:png|svg)$")


def _previous_outputs(out: Path, new_names: set[str]) -> set[str]:
    """The files of the build in ``out`` (relative POSIX paths), refusing anything else in it.

    Build swaps in a new folder for the old one, so whatever the old one holds goes: a folder with
    files no build wrote (notes, a folder named ``leaflet.html``), or with symlinks (``figures``
    linked into the evidence folder), is refused before anything is written.
    """
    if not out.exists():
        return set()
    found: set[str] = set()
    foreign: list[str] = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_symlink():
            raise InputError(f"'{rel}' inside the output folder is a symlink (to "
                             f"{os.path.realpath(path)}); build never writes through links, "
                             "which could lead outside --out: remove the link or choose another "
                             "--out", file=str(out))
        if path.is_dir():
            if rel != "figures":
                foreign.append(rel + "/ (a folder)")
            continue
        if not path.is_file():
            foreign.append(rel + " (not a regular file)")
        elif rel in BUILD_OUTPUT_NAMES or rel in new_names or _FIGURE_RE.match(rel):
            found.add(rel)
        else:
            foreign.append(rel)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise InputError(f"the output folder holds files a build did not write ({shown}); a "
                         "build replaces the whole folder, so move them elsewhere or choose "
                         "another --out", file=str(out))
    return found


def _stage_prefix(out: Path) -> str:
    return f".{out.name}.stage-"


def _remove_leftovers(out: Path) -> list[str]:
    """Staging folders left beside ``out`` by a build that was killed (``kill -9``, power loss)."""
    removed = []
    for path in sorted(out.parent.glob(_stage_prefix(out) + "*")):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


class _BuildLock:
    """An exclusive ``fcntl.flock`` on ``.<out>.lock`` beside ``out``: one build at a time.

    The lock is released by the kernel when the process ends, however it ends, so a killed build
    never leaves a stale lock. Where ``fcntl`` is missing (Windows) builds are not locked.
    """

    def __init__(self, out: Path):
        self.path = out.parent / f".{out.name}.lock"
        self.fd: int | None = None

    def __enter__(self) -> "_BuildLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) |
                              getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise InputError(f"cannot create the build lock {self.path.name} beside the output "
                             f"folder ({exc.strerror or exc}); check that its parent folder is "
                             "writable", file=str(self.path.parent)) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise InputError("another build into this folder is running; wait for it to finish "
                             f"(the lock is {self.path.name} beside it)",
                             file=str(self.path.parent)) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    import errno

    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else -1):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _swap_in(new: Path, out: Path, parking: Path) -> None:
    """Make ``new`` be ``out``: the old ``out`` ends up at ``parking`` (removed by the caller).

    With renameat2's RENAME_EXCHANGE (Linux) the swap is one atomic step, so at every moment
    ``out`` is the old build or the new one. Elsewhere: rename the old one aside, then the new one
    in; a kill between the two leaves no ``out`` for an instant, and the old build in ``parking``.
    """
    if not out.exists():
        os.rename(new, out)
    elif not _exchange(new, out):
        os.rename(out, parking)
        os.rename(new, out)
    else:
        os.rename(new, parking)
    _fsync_dir(out.parent)


class _Terminated(KeyboardInterrupt):
    """SIGTERM during a build: unwinds like Ctrl-C, so Chromium and the staging folder go."""


def _terminate_as_interrupt():
    """Context manager: SIGTERM raises :class:`_Terminated` (main thread only) while building."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def handler():
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def raise_(signum, frame):
            raise _Terminated()

        previous = signal.signal(signal.SIGTERM, raise_)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    return handler()


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
    from .grade.claims import make_claims
    from .validation import load_library

    evidence = Path(evidence_dir)
    out = Path(out_dir)
    _check_folders(evidence, out)
    library = load_library(evidence)
    claims = make_claims(library, by_comparison=True)
    items = _claims_of(claims)

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
    with _BuildLock(out), _terminate_as_interrupt():
        for name in _remove_leftovers(out):
            notes.append(f"removed {name} beside the output folder (left by a build that was "
                         "stopped)")
        previous = _previous_outputs(out, set(files) | {"leaflet.pdf"})
        stage = Path(tempfile.mkdtemp(prefix=_stage_prefix(out), dir=out.parent))
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
                _fsync_dir(path)
            try:
                _swap_in(new, out, stage / "previous")
            except OSError as exc:
                raise InputError(f"cannot put the new build in place ({exc.strerror or exc}); "
                                 "the previous build is unchanged", file=str(out)) from None
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return BuildReport(str(evidence), str(out), written=tuple(written), readability=grades,
                       pdf=pdf_status, pdf_message=pdf_message, notes=tuple(notes))
