"""Fuzzed study files: whatever the bytes, validate reports (never raises) and later commands agree.

A study file from the valid fixture is damaged at a random place with text that often breaks
parsers (YAML and Markdown specials, numbers near the limits, invisible characters, NUL, CR). For
every variant, :func:`validate_evidence` returns a report whose errors each name the file; when the
report is clean, :func:`load_library`, the study table and the claims must work too, so nothing
``validate`` accepts crashes a later command.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidencekit.validation import load_library, validate_evidence

BASE = Path(__file__).parent / "bad_inputs" / "_base"
STUDY = (BASE / "studies" / "smith2020.yaml").read_bytes()

PIECES = [b"0", b"040", b"1:30", b"yes", b"<<: *a", b"&a ", b"*a", b"!!python/name:os.system",
          b"9223372036854775808", b"1e308", b"-1.7e308", b".nan", b".inf", b"1e-320", b"\x00",
          b"\r", b"\n", b"\t", b": ", b"- ", b"# ", b"~~~", b"```", b"{", b"}", b"[", b"]", b"'",
          b'"', b'"\\0"', b'"\\u200b"', "\u2028".encode(), "\u200b".encode(), "\u202e".encode(),
          b"\xff", b"\xef\xbb\xbf", b"null", b"~", b"-", b"1" * 40]


# Where the fixture holds a number (n, SDs, means, CI limits, p): values are swapped in there.
NUMBERS = [(m.start(1), m.end(1)) for m in re.finditer(rb"(?:: |, )[a-z_]*:? ?(-?\d+(?:\.\d+)?)\b",
                                                       STUDY)]
VALUES = [b"9223372036854775808", b"123456789012345678901234567890", b"1.0e+300", b"-1.7e308",
          b"1.7e308", b"1e154", b"1e-320", b"040", b"1:30.5", b"yes", b"0o17", b"0x1F", b"1_000",
          b".inf", b".nan", b"1000000000", b"1e12", b"-1e12", b"0", b"-0.0", b"2", b"1e5"]

edit = st.one_of(
    st.tuples(st.integers(0, len(STUDY)), st.sampled_from(PIECES), st.integers(0, 3)),
    st.tuples(st.sampled_from(NUMBERS), st.sampled_from(VALUES)).map(
        lambda t: (t[0][0], t[1], t[0][1] - t[0][0])),
)


@settings(max_examples=80, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(edit, min_size=1, max_size=3))
def test_validate_never_raises_and_what_it_accepts_loads(tmp_path_factory, edits):
    root = tmp_path_factory.mktemp("fuzz") / "evidence"
    shutil.copytree(BASE, root)
    data = bytearray(STUDY)
    last = len(data) + 1
    for where, piece, cut in sorted(edits, reverse=True):
        if where + cut > last:  # overlapping edits: keep the later one only
            continue
        data[where:where + cut] = piece
        last = where
    study = root / "studies" / "smith2020.yaml"
    study.write_bytes(bytes(data))

    report = validate_evidence(root)
    for m in report.errors:
        assert m.file and m.message
    if report.ok:
        library = load_library(root)
        library.studies_frame()
        from evidencekit.grade.claims import make_claims

        claims = make_claims(library)
        from evidencekit import render

        render.render_leaflet(claims, library, "md")
        render.render_figures(library, claims)
