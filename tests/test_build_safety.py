"""Builds are staged and swapped in whole; Chromium is contained; no writes through links; locked.

The kill tests run ``render.build`` in a subprocess that SIGKILLs itself at a chosen point (the
k-th file written, just before the swap, just after it, while Chromium prints), then check that
the output folder is exactly the previous build or exactly the new one, and that the next build
succeeds and removes what the killed one left.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evidence_fixture import make_evidence
from evidencekit.outputs import build as render
from evidencekit.outputs import pdf as pdf_module
from evidencekit.cli import main
from evidencekit.errors import InputError

POSIX = os.name == "posix"
pytestmark = pytest.mark.skipif(not POSIX, reason="process groups, flock and signals are POSIX")


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def no_pdf(monkeypatch):
    monkeypatch.setattr(pdf_module, "find_chromium", lambda: None)


@pytest.fixture
def old_and_new(tmp_path, monkeypatch):
    """An output folder holding build A, the evidence changed to B, and B's build for reference."""
    monkeypatch.setattr(pdf_module, "find_chromium", lambda: None)
    evidence = make_evidence(tmp_path)
    out = tmp_path / "out"
    render.build(evidence, out)
    old = tree(out)
    trial = evidence / "studies" / "trial2020.yaml"
    trial.write_text(trial.read_text().replace("Only 60 people took part",
                                               "Just 60 people took part"))
    reference = tmp_path / "reference"
    render.build(evidence, reference)
    new = tree(reference)
    assert old != new
    return evidence, out, old, new


KILLER = textwrap.dedent("""
    import os, signal, sys
    from evidencekit.outputs import build as render
    from evidencekit.outputs import pdf as pdf_module

    evidence, out, point, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    chromium = sys.argv[5] if len(sys.argv) > 5 else None
    if chromium is None:
        pdf_module.find_chromium = lambda: None

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    calls = [0]

    def at_nth(real):
        def wrapped(*args, **kwargs):
            calls[0] += 1
            if calls[0] == nth:
                die()
            return real(*args, **kwargs)
        return wrapped

    if point == "write":
        render.write_atomic = at_nth(render.write_atomic)
    elif point == "before-swap":
        render.swap_in = at_nth(render.swap_in)
    elif point == "after-swap":
        real_swap = render.swap_in
        def swap_then_die(*args):
            real_swap(*args)
            die()
        render.swap_in = swap_then_die
    elif point == "replace":
        os.replace = at_nth(os.replace)
    render.build(evidence, out, chromium=chromium)
""")


def run_killed(evidence: Path, out: Path, point: str, nth: int = 1,
               chromium: str | None = None, timeout: float = 120) -> int:
    args = [sys.executable, "-c", KILLER, str(evidence), str(out), point, str(nth)]
    if chromium:
        args.append(chromium)
    return subprocess.run(args, capture_output=True, timeout=timeout).returncode


@pytest.mark.parametrize("point, nth", [
    ("write", 1), ("write", 3), ("write", 6), ("replace", 2), ("before-swap", 1), ("after-swap", 1),
])
def test_kill_9_at_any_point_leaves_the_old_build_or_the_new_one(old_and_new, point, nth):
    evidence, out, old, new = old_and_new
    code = run_killed(evidence, out, point, nth)
    assert code == -signal.SIGKILL
    now = tree(out)
    assert now in (old, new), f"mixed build after a kill at {point} #{nth}"
    if point == "after-swap":
        assert now == new
    if point in ("write", "replace", "before-swap"):
        assert now == old
    # The next build succeeds and removes what the killed one left beside the folder.
    report = render.build(evidence, out)
    assert report.ok and tree(out) == new
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(".out.stage-")]
    assert left == []


def fake_chromium(tmp_path: Path, behaviour: str) -> tuple[Path, Path]:
    """A stand-in for Chromium that starts a helper process (as Chromium does) and then hangs."""
    pids = tmp_path / "pids"
    script = tmp_path / "fake-chromium"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        sleep 300 &
        echo $$ $! >> {pids}
        {"exec sleep 300" if behaviour == "hang" else "exit 3"}
        """))
    script.chmod(0o755)
    return script, pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not running
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_dead(pids: list[int], seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def read_pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_chromium_timeout_kills_its_whole_group_and_removes_the_profile(tmp_path):
    script, pids = fake_chromium(tmp_path, "hang")
    html = tmp_path / "leaflet.html"
    html.write_text("<html></html>")
    status, message = pdf_module.print_pdf(html, tmp_path / "leaflet.pdf", chromium=str(script),
                                       timeout=1.5, profile_dir=tmp_path)
    assert status == "failed" and "did not finish" in message
    assert wait_dead(read_pids(pids)), "a Chromium process outlived the timeout"
    assert not list(tmp_path.glob(".chromium-profile-*")) and not list(tmp_path.glob(".*.tmp"))


def test_ctrl_c_while_printing_kills_chromium(tmp_path):
    script, pids = fake_chromium(tmp_path, "hang")
    html = tmp_path / "leaflet.html"
    html.write_text("<html></html>")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            pdf_module.print_pdf(html, tmp_path / "leaflet.pdf", chromium=str(script), timeout=60,
                             profile_dir=tmp_path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert wait_dead(read_pids(pids))
    assert not list(tmp_path.glob(".chromium-profile-*"))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_build_stopped_while_printing_leaves_no_chromium_and_the_old_build(
        old_and_new, tmp_path, how):
    evidence, out, old, new = old_and_new
    script, pids = fake_chromium(tmp_path, "hang")
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(evidence), str(out), "none", "0",
                             str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + 60
    while len(read_pids(pids)) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    assert read_pids(pids), "the fake Chromium never started"
    proc.send_signal(getattr(signal, how))
    proc.communicate(timeout=30)
    assert wait_dead(read_pids(pids)), f"Chromium outlived the build ({how})"
    assert tree(out) == old
    if how == "SIGTERM":  # unwound like Ctrl-C: the staging folder and the profile are gone
        assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.stage-")]


def test_figures_symlinked_out_of_the_folder_is_refused_and_nothing_written(
        old_and_new, tmp_path):
    evidence, out, old, _ = old_and_new
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import shutil

    shutil.rmtree(out / "figures")
    (out / "figures").symlink_to(elsewhere)
    with pytest.raises(InputError, match="'figures' inside the output folder is a symlink"):
        render.build(evidence, out)
    assert list(elsewhere.iterdir()) == []
    assert (out / "figures").is_symlink()


def test_output_folder_that_is_a_symlink_is_refused(tmp_path, no_pdf):
    evidence = make_evidence(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    with pytest.raises(InputError, match="is a symlink"):
        render.build(evidence, tmp_path / "out")
    assert list(real.iterdir()) == []


def test_a_folder_named_leaflet_html_exits_2_with_the_build_unchanged(old_and_new, capsys):
    evidence, out, old, _ = old_and_new
    (out / "leaflet.html").unlink()
    (out / "leaflet.html").mkdir()
    before = tree(out)
    assert main(["build", "--evidence", str(evidence), "--out", str(out)]) == 2
    assert "leaflet.html/ (a folder)" in capsys.readouterr().err
    assert tree(out) == before and (out / "leaflet.html").is_dir()


def test_files_a_build_did_not_write_are_never_deleted(tmp_path, no_pdf, capsys):
    evidence = make_evidence(tmp_path)
    out = tmp_path / "Documents"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    assert main(["build", "--evidence", str(evidence), "--out", str(out)]) == 2
    assert "my-notes.txt" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["my-notes.txt"]


def test_full_disk_exits_2_with_the_build_unchanged(old_and_new, monkeypatch, capsys):
    evidence, out, old, _ = old_and_new
    real = render.write_atomic
    calls = []

    def full(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(render, "write_atomic", full)
    assert main(["build", "--evidence", str(evidence), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "previous build is unchanged" in err
    assert tree(out) == old
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.stage-")]


def test_two_builds_cannot_interleave(tmp_path, no_pdf):
    import fcntl

    evidence = make_evidence(tmp_path)
    out = tmp_path / "out"
    with open(tmp_path / ".out.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another build into this folder is running"):
            render.build(evidence, out)
    assert not out.exists()
    assert render.build(evidence, out).ok  # released: the next build runs


def test_stale_outputs_of_an_earlier_build_are_named_when_removed(old_and_new):
    evidence, out, old, new = old_and_new
    (out / "figures" / "forest-gone.png").write_bytes(b"\x89PNG old")
    report = render.build(evidence, out)
    assert tree(out) == new
    assert any("removed figures/forest-gone.png" in n for n in report.notes)
