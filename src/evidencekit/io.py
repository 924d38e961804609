"""Reading any input, and writing outputs atomically.

Every file evidencekit reads (study YAML, ``references.bib``, ``questions.yaml``, the CSV given to
``pool``, a page given to ``audit``) goes through :func:`read_bytes` (and :func:`decode_text` for
UTF-8 text), so the same rules hold everywhere:

- only regular files are read. A named pipe would block the reader for ever, a device such as
  ``/dev/zero`` never ends, and a socket is not a file; each is an :class:`~evidencekit.errors.InputError`
  that says what the path is. Symlinks are followed, and the error names the target;
- the read is bounded: it stops one byte past the limit whatever ``st_size`` said (``/proc`` files
  and some devices report 0, a file may grow while being read);
- the file is opened with ``O_NONBLOCK`` after an :func:`os.stat` check, and checked again with
  :func:`os.fstat` on the open descriptor, so a path swapped for a pipe between the two calls
  cannot block either;
- NUL bytes and the encoding are checked over the whole content, not a prefix.

A CSV table (:func:`read_csv_table`) is parsed with the standard library's ``csv`` and checked
row by row, so a stray comma or a repeated column is an error naming its line.

Writing: :func:`atomic_write_bytes` writes to a temporary file in the target's folder, flushes it to
disk and renames it over the target, so a reader (or a crash) sees the old file or the new one.

The limits are named in ``docs/reliability.md``.
"""
from __future__ import annotations

import codecs
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

__all__ = [
    "MAX_EVIDENCE_BYTES", "MAX_CSV_BYTES", "MAX_PAGE_BYTES", "InputBytes", "read_bytes",
    "decode_text", "read_text", "normalise_newlines", "read_csv_text", "read_csv_table",
    "atomic_write_bytes", "line_of_offset",
]

#: Largest evidence file (study YAML, questions.yaml, references.bib). A study file is a few
#: kilobytes and a review's references.bib rarely passes a few hundred; PyYAML would take minutes
#: on anything near this size.
MAX_EVIDENCE_BYTES = 5_000_000

#: Largest CSV given to ``evidencekit pool``: a meta-analysis table of 100,000 studies is ~5 MB.
MAX_CSV_BYTES = 50_000_000

#: Largest page given to ``evidencekit audit``.
MAX_PAGE_BYTES = 25 * 1024 * 1024

# The chunk size of the bounded read: small enough that a limit is never overshot by much.
_CHUNK = 1 << 16

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True)
class InputBytes:
    """The bytes of one input file and where they came from.

    Attributes
    ----------
    shown
        The path as the user gave it (for messages).
    resolved
        The real path after following symlinks.
    symlink
        True when ``shown`` is (or passes through) a symlink.
    data
        The content, at most the limit given to :func:`read_bytes`.
    """

    shown: str
    resolved: str
    symlink: bool
    data: bytes


def _shown(path: str | os.PathLike) -> str:
    return Path(path).as_posix()


def _describe(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _open_fd(path: str) -> int:
    """Open read-only without blocking (a FIFO opened for reading would wait for a writer)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 10e6 else f"{n / 1e6:.0f} MB"


def read_bytes(path: str | os.PathLike, *, limit: int = MAX_EVIDENCE_BYTES,
               kind: str = "evidence file", prefix: str = "") -> InputBytes:
    """Read a regular file's bytes, refusing pipes, devices, sockets and files over ``limit``.

    Parameters
    ----------
    path
        The file.
    limit
        Largest size read, in bytes. The read stops at ``limit + 1`` bytes whatever the file
        system reports as its size.
    kind
        What the file is meant to be (``"evidence file"``, ``"CSV file"``, ``"page"``), for messages.
    prefix
        Put before every message (e.g. ``"cannot read as CSV: "``).

    Returns
    -------
    InputBytes

    Raises
    ------
    InputError
        Missing, a folder, not a regular file (named pipe, device, socket; a symlink's target is
        named), larger than ``limit``, or refused by the OS. The message says what to do.
    """
    shown = _shown(path)
    raw = os.fspath(path)
    resolved = os.path.realpath(raw)
    is_link = resolved != os.path.abspath(raw)
    via = f" (a symlink to {resolved})" if is_link else ""

    def fail(what: str) -> InputError:
        return InputError(prefix + what, file=shown)

    try:
        before = os.stat(raw)
    except FileNotFoundError:
        if os.path.lexists(raw):
            raise fail(f"is a broken symlink{via}: its target does not exist; point it at the "
                       f"{kind} or replace it with the file") from None
        raise fail(f"file not found; give the path to the {kind}") from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror or exc}); check that the file exists and that "
                   "you may read it") from None
    if stat.S_ISDIR(before.st_mode):
        raise fail(f"this is a folder{via}, not a file; give the path to the {kind}")
    if not stat.S_ISREG(before.st_mode):
        raise fail(f"is {_describe(before.st_mode)}{via}, not a regular file; save the {kind} "
                   "to disk and give that file's path")
    if before.st_size > limit:
        raise fail(f"file is {_mb(before.st_size)}, larger than the {_mb(limit)} limit for a "
                   f"{kind}{via}; is it the right file? Split it or remove it")
    try:
        fd = _open_fd(raw)
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror or exc}); check that the file exists and that "
                   "you may read it") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev,
                                                                         before.st_ino):
            raise fail(f"was replaced while being opened (it is now {_describe(now.st_mode)}); "
                       "give a file that is not being changed")
        # Reading a regular file never blocks; switch back so a slow disk is not an error.
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror or exc}); check that the file exists and that "
                   "you may read it") from None
    finally:
        os.close(fd)
    if total > limit:
        raise fail(f"file is larger than the {_mb(limit)} limit for a {kind}{via} (it grew while "
                   "being read, or reports a wrong size); is it the right file?")
    return InputBytes(shown=shown, resolved=resolved, symlink=is_link, data=b"".join(chunks))


def line_of_offset(data: bytes | str, offset: int) -> int:
    """1-based line of ``offset``, counting ``\\r\\n``, ``\\r`` and ``\\n`` each as one line end."""
    head = data[:offset]
    if isinstance(head, str):
        return head.count("\n") + head.count("\r") - head.count("\r\n") + 1
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def decode_text(data: bytes, shown: str, *, kind: str = "evidence file", prefix: str = "",
                fix: str = "re-save it with UTF-8 encoding") -> str:
    """Decode UTF-8 (an optional BOM is dropped); refuse UTF-16/32, NUL bytes and bad bytes.

    The NUL check covers the whole content: a binary tail after a text head is still binary.

    Raises
    ------
    InputError
        With the line of the first undecodable byte where one applies.
    """
    def fail(what: str, line: int | None = None) -> InputError:
        return InputError(prefix + what, file=shown, line=line)

    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise fail(f"saved as UTF-32 text; a {kind} is UTF-8: {fix}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise fail(f"saved as UTF-16 text; a {kind} is UTF-8: {fix}")
    nul = data.find(b"\x00")
    if nul >= 0:
        # A line number means nothing in a binary file, so none is given; the offset helps.
        raise fail(f"binary file (it contains NUL bytes, first at byte {nul}, or is UTF-16); a "
                   f"{kind} is UTF-8 text: {fix}, or remove it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex().upper()
        raise fail(f"not UTF-8 text (byte 0x{bad} on this line cannot be decoded); {fix}",
                   line=line_of_offset(data, exc.start)) from None


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` and a lone ``\\r`` (old Mac OS, some exports) both become ``\\n``."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | os.PathLike, *, limit: int = MAX_EVIDENCE_BYTES,
              kind: str = "evidence file", prefix: str = "",
              fix: str = "re-save it with UTF-8 encoding", newlines: bool = False) -> str:
    """:func:`read_bytes` then :func:`decode_text`; ``newlines=True`` normalises line ends."""
    got = read_bytes(path, limit=limit, kind=kind, prefix=prefix)
    text = decode_text(got.data, got.shown, kind=kind, prefix=prefix, fix=fix)
    return normalise_newlines(text) if newlines else text


def read_csv_text(path: str | os.PathLike) -> str:
    """A CSV table's text (``evidencekit pool``, ``evidencekit import``): :func:`read_text` with the
    CSV limit, and CR-only line ends read as lines."""
    return read_text(path, limit=MAX_CSV_BYTES, kind="CSV file", prefix="cannot read as CSV: ",
                     fix="a spreadsheet must be saved as 'CSV UTF-8 (comma delimited)'",
                     newlines=True)


def read_csv_table(path: str | os.PathLike, text: str | None = None):
    """A CSV table (``text``, when already read) as a DataFrame of stripped text cells, indexed by
    CSV line number.

    Read with the standard library's ``csv`` rather than ``pd.read_csv``: pandas quietly turns a
    row with one cell too many into an index and shifts every value one column left (a stray comma
    would pool the wrong numbers), and renames a repeated column to ``yi.1``. Here both are errors
    that name the line. Keeping the line numbers as the index lets later errors name the right
    line even after a blank line.
    """
    import csv
    from io import StringIO

    import pandas as pd

    where = {"file": str(path)}
    if text is None:
        text = read_csv_text(path)
    if not text.strip():
        raise InputError("cannot read as CSV: the file is empty; the first line names the "
                         "columns (metafor's names, e.g. yi,vi; see `evidencekit pool --help`) "
                         "and each further line is one study", **where)
    reader = csv.reader(StringIO(text), skipinitialspace=True)
    try:
        rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader if row]
    except csv.Error as exc:
        raise InputError(f"cannot read as CSV: {exc}", line=reader.line_num, **where) from None
    _, header = rows[0]
    while header and not header[-1]:  # a trailing comma on the header line
        header = header[:-1]
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        sep = "semicolons" if ";" in header[0] else "tabs"
        raise InputError(f"cannot read as CSV: the columns are separated by {sep}; save the "
                         "file with commas between values (and full stops as decimal points)",
                         line=1, **where)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"column {name!r} appears twice in the header; keep one",
                             line=1, field=name, **where)
        seen.add(name)
    for line, row in rows[1:]:
        extra = row[len(header):]
        if len(row) < len(header) or any(extra):
            raise InputError(
                f"line has {len(row)} value(s) but the header names {len(header)} column(s); "
                "check for a missing or extra comma (a decimal comma? write 1.5, not 1,5)",
                line=line, **where)
    if len(rows) == 1:
        raise InputError("the file has a header but no rows of data; add one line per study",
                         **where)
    return pd.DataFrame([row[:len(header)] for _, row in rows[1:]], columns=header,
                        index=pd.Index([line for line, _ in rows[1:]], name="line"), dtype=object)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same folder (same file system, so the rename is
    atomic), are flushed to disk, and replace ``path`` with :func:`os.replace`. On any error the
    temporary file is removed and the old ``path`` is untouched. ``mode`` sets the permissions
    (mkstemp makes 0600 files; an ordinary document wants 0644).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
