"""The one reader for every input (:mod:`evidencekit.io`): regular files only, bounded, checked.

The end-to-end cases run the CLI in a subprocess with a timeout: a reader that blocked on a named
pipe or read /dev/zero to the end would hang the test run instead of failing it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from evidencekit import io as eio
from evidencekit.errors import InputError

BASE = Path(__file__).parent / "bad_inputs" / "_base"
HAS_DEV_ZERO = os.path.exists("/dev/zero")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from evidencekit.cli import main; "
                           "sys.exit(main(sys.argv[1:]))", *argv],
                          capture_output=True, text=True, timeout=timeout)


def test_reads_a_regular_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"hello\n")
    got = eio.read_bytes(f, limit=100)
    assert got.data == b"hello\n" and not got.symlink and got.shown == f.as_posix()


@needs_fifo
def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "study.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"named pipe \(FIFO\), not a regular file"):
        eio.read_bytes(fifo)


@pytest.mark.skipif(not HAS_DEV_ZERO, reason="no /dev/zero")
def test_symlink_to_dev_zero_is_refused_and_named(tmp_path):
    link = tmp_path / "references.bib"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError) as info:
        eio.read_bytes(link)
    assert "character device" in info.value.message and "symlink to /dev/zero" in info.value.message
    assert info.value.file == link.as_posix()


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    if len(str(path)) > 100:  # AF_UNIX path length limit
        pytest.skip("temporary path too long for a socket")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        with pytest.raises(InputError, match="a socket"):
            eio.read_bytes(path)
    finally:
        sock.close()


def test_broken_symlink_and_missing_file(tmp_path):
    link = tmp_path / "gone.yaml"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="broken symlink"):
        eio.read_bytes(link)
    with pytest.raises(InputError, match="file not found"):
        eio.read_bytes(tmp_path / "missing.yaml")


def test_symlink_to_a_regular_file_is_read_and_reported(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("id: x\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    got = eio.read_bytes(link)
    assert got.symlink and got.resolved == os.path.realpath(real) and got.data == b"id: x\n"


def test_read_stops_at_the_limit_whatever_the_size_says(tmp_path, monkeypatch):
    # A file that reports size 0 (as /proc files and some devices do) but holds more than the limit.
    f = tmp_path / "big.txt"
    f.write_bytes(b"x" * 5000)
    real_stat = os.stat

    class Zero:
        def __init__(self, st):
            self._st = st

        def __getattr__(self, name):
            return 0 if name == "st_size" else getattr(self._st, name)

    monkeypatch.setattr(eio.os, "stat", lambda p, *a, **k: Zero(real_stat(p, *a, **k)))
    with pytest.raises(InputError, match="larger than the"):
        eio.read_bytes(f, limit=1000)


def test_file_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    f = tmp_path / "big.txt"
    f.write_bytes(b"x" * 2000)
    monkeypatch.setattr(eio, "_open_fd", lambda p: pytest.fail("opened a file over the limit"))
    with pytest.raises(InputError, match="larger than the"):
        eio.read_bytes(f, limit=1000)


def test_swapped_file_between_stat_and_open_is_refused(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    real_open = eio._open_fd
    monkeypatch.setattr(eio, "_open_fd", lambda p: real_open(str(b)))
    with pytest.raises(InputError, match="replaced while being opened"):
        eio.read_bytes(a)


@pytest.mark.parametrize("data, match", [
    (b"a: 1\n" * 300_000 + b"\x00", "NUL bytes, first at byte 1500000"),  # NUL far past 1 MB
    (b"\xff\xfea\x00", "UTF-16"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"ok\r\nok\rcaf\xe9\n", "not UTF-8"),
])
def test_whole_content_is_checked(tmp_path, data, match):
    f = tmp_path / "x.yaml"
    f.write_bytes(data)
    with pytest.raises(InputError, match=match) as info:
        eio.read_text(f, limit=10_000_000)
    if match == "not UTF-8":
        assert info.value.line == 3  # \r\n and a lone \r each end a line


def test_newlines_normalised_on_request():
    assert eio.normalise_newlines("a\rb\r\nc\n") == "a\nb\nc\n"


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    eio.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.json"]


# ---------------------------------------------------------------------------------------------
# end to end: each ends in seconds with exit 1 or 2 and no traceback


def _evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    return root


@needs_fifo
@pytest.mark.parametrize("which", ["studies/lee2021.yaml", "references.bib", "questions.yaml"])
def test_validate_with_a_named_pipe_ends(tmp_path, which):
    root = _evidence(tmp_path)
    (root / which).unlink()
    os.mkfifo(root / which)
    done = cli("validate", str(root))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "named pipe" in done.stdout and "Traceback" not in done.stdout + done.stderr


@pytest.mark.skipif(not HAS_DEV_ZERO, reason="no /dev/zero")
@pytest.mark.parametrize("which", ["studies/lee2021.yaml", "references.bib"])
def test_validate_with_dev_zero_ends(tmp_path, which):
    root = _evidence(tmp_path)
    (root / which).unlink()
    (root / which).symlink_to("/dev/zero")
    done = cli("validate", str(root), "--format", "json")
    assert done.returncode == 1 and "symlink to /dev/zero" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("make", ["fifo", "zero"])
def test_pool_with_a_pipe_or_dev_zero_ends(tmp_path, make):
    csv = tmp_path / "data.csv"
    if make == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes")
        os.mkfifo(csv)
    else:
        if not HAS_DEV_ZERO:
            pytest.skip("no /dev/zero")
        csv.symlink_to("/dev/zero")
    done = cli("pool", str(csv), "--measure", "GEN")
    assert done.returncode == 2 and "cannot read as CSV" in done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_pool_reads_a_cr_only_csv(tmp_path):
    csv = tmp_path / "mac.csv"
    csv.write_bytes(b"yi,vi\r0.1,0.02\r0.3,0.04\r")
    done = cli("pool", str(csv), "--measure", "GEN", "--method", "FE")
    assert done.returncode == 0, done.stderr
    assert "Meta-analysis of 2 studies" in done.stdout


@needs_fifo
def test_audit_with_a_named_pipe_ends(tmp_path):
    page = tmp_path / "page.html"
    os.mkfifo(page)
    done = cli("audit", str(page))
    assert done.returncode == 2 and "named pipe" in done.stderr
    assert "Traceback" not in done.stderr


def test_symlinked_evidence_file_is_read_and_reported_as_a_warning(tmp_path):
    from evidencekit.validation import validate_evidence

    root = _evidence(tmp_path)
    elsewhere = tmp_path / "lee2021.yaml"
    (root / "studies" / "lee2021.yaml").rename(elsewhere)
    (root / "studies" / "lee2021.yaml").symlink_to(elsewhere)
    report = validate_evidence(root)
    assert report.ok
    (w,) = [m for m in report.warnings if "symlink" in m.message]
    assert w.file == (root / "studies" / "lee2021.yaml").as_posix()
    assert os.path.realpath(elsewhere) in w.message


@needs_fifo
def test_audit_topic_file_that_is_a_named_pipe_is_an_error_not_ignored(tmp_path):
    root = _evidence(tmp_path)
    page = tmp_path / "page.txt"
    page.write_text("It relieves pain.\n", encoding="utf-8")
    os.mkfifo(root / "audit-topics.yaml")
    done = cli("audit", str(page), "--evidence", str(root))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "audit-topics.yaml" in done.stderr and "named pipe" in done.stderr
    assert "Traceback" not in done.stderr


@needs_fifo
def test_lexicon_and_metafor_reference_are_read_as_inputs(tmp_path):
    from evidencekit import load_metafor_reference
    from evidencekit.audit import load_lexicon

    fifo = tmp_path / "lexicon.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="lexicon is a named pipe"):
        load_lexicon(fifo)
    with pytest.raises(InputError, match="named pipe"):
        load_metafor_reference(fifo)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"verdict_order:\n  - caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_lexicon(latin1)
    assert info.value.line == 2 and "not UTF-8" in info.value.message


def test_import_quotes_the_rows_of_a_cr_only_csv(tmp_path):
    root = tmp_path / "review"
    assert cli("new", str(root), "--intervention", "a test drug").returncode == 0
    csv = tmp_path / "mac.csv"
    csv.write_bytes(b"study,author,year,yi,vi\rdoe2020,Doe,2020,0.1,0.02\r")
    done = cli("import", str(csv), "--evidence", str(root), "--question", "q",
               "--measure", "GEN", "--outcome", "pain", "--population", "adults",
               "--lower-is-better")
    assert done.returncode == 0, done.stderr
    study = (root / "studies" / "doe2020.yaml").read_text(encoding="utf-8")
    assert "doe2020,Doe,2020,0.1,0.02" in study and "\r" not in study


def test_csv_table_keeps_line_numbers_and_names_a_stray_comma(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(b"yi, vi\n0.1,0.02\n\n0.3 ,0.04\n")
    frame = eio.read_csv_table(good)
    assert list(frame.columns) == ["yi", "vi"] and list(frame.index) == [2, 4]
    assert frame.loc[4, "yi"] == "0.3"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"yi,vi\n0.1,0.02\n0,3,0.04\n")
    with pytest.raises(InputError, match="3 value") as info:
        eio.read_csv_table(bad)
    assert info.value.line == 3 and info.value.file == str(bad)
