"""Staging a build and swapping it in whole: the folder checks, the lock, the atomic exchange.

A build is written into a staging folder beside ``--out`` and exchanged for it in one
``renameat2(RENAME_EXCHANGE)`` (Linux), so a failure or a kill at any moment leaves the old build
or the new one, never a mix. Builds into one folder are serialised by an ``fcntl.flock``.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import InputError

__all__ = ["BUILD_OUTPUT_NAMES", "BuildLock", "check_folders", "fsync_dir", "previous_outputs",
           "remove_leftovers", "stage_prefix", "swap_in", "terminate_as_interrupt", "write_atomic"]

def check_folders(evidence: Path, out: Path) -> None:
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


def previous_outputs(out: Path, new_names: set[str]) -> set[str]:
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


def stage_prefix(out: Path) -> str:
    return f".{out.name}.stage-"


def remove_leftovers(out: Path) -> list[str]:
    """Staging folders left beside ``out`` by a build that was killed (``kill -9``, power loss)."""
    removed = []
    for path in sorted(out.parent.glob(stage_prefix(out) + "*")):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


class BuildLock:
    """An exclusive ``fcntl.flock`` on ``.<out>.lock`` beside ``out``: one build at a time.

    The lock is released by the kernel when the process ends, however it ends, so a killed build
    never leaves a stale lock. Where ``fcntl`` is missing (Windows) builds are not locked.
    """

    def __init__(self, out: Path):
        self.path = out.parent / f".{out.name}.lock"
        self.fd: int | None = None

    def __enter__(self) -> "BuildLock":
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


def fsync_dir(path: Path) -> None:
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


def swap_in(new: Path, out: Path, parking: Path) -> None:
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
    fsync_dir(out.parent)


class _Terminated(KeyboardInterrupt):
    """SIGTERM during a build: unwinds like Ctrl-C, so Chromium and the staging folder go."""


def terminate_as_interrupt():
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




def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, making its folder if needed.

    See :func:`evidencekit.io.atomic_write_bytes`; outputs are ordinary documents (0644).
    """
    from ..io import atomic_write_bytes

    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data, mode=0o644)
