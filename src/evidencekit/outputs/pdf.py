"""Printing the leaflet to PDF with headless Chromium, contained in its own process group."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from .staging import write_atomic

__all__ = ["CHROMIUM_FLAGS", "CHROMIUM_TIMEOUT", "find_chromium", "run_chromium", "print_pdf"]



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


