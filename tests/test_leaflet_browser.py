"""The leaflet as a reader on a phone sees it: rendered by headless Chromium at 375 px wide.

The leaflet is laid out in a 375 px wide frame; a small measuring script in the wrapping page (the
leaflet itself has none) writes the frame's scroll width, its viewport width and the right edge of
the widest element into the DOM, and ``chromium --dump-dom`` prints it. Nothing may stick out past the viewport: a horizontal scroll
bar on a phone hides the end of every line it crosses.

Skipped, with a message, where Chromium is not installed (Debian: ``apt-get install chromium``).
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from evidence_fixture import make_evidence
from evidencekit import render

ROOT = Path(__file__).resolve().parents[1]
PHONE_WIDTH = 375
#: Sub-pixel layout may put an edge a fraction of a pixel past the viewport without any visible
#: overflow; half a pixel is below what a screen can show.
TOLERANCE_PX = 0.5

CHROMIUM = render.find_chromium()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed, so the leaflet cannot be checked at phone width "
           "(install it with `apt-get install chromium` to run this test)")]

# Headless Chromium will not make a window narrower than 500 px, so the leaflet is laid out in a
# 375 px wide iframe (srcdoc: same origin, so the script can look inside). An iframe is a viewport of
# its own: media queries and the viewport meta see 375 px, as on a phone.
WRAPPER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="leaflet" style="width:%(width)dpx;height:900px;border:0" srcdoc="%(srcdoc)s"></iframe>
<script>
window.addEventListener("load", function () {
  var doc = document.getElementById("leaflet").contentDocument;
  var vw = doc.documentElement.clientWidth, worst = "", right = 0;
  doc.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right) {
      right = r.right;
      worst = el.tagName + ": " + (el.textContent || "").trim().slice(0, 80);
    }
  });
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({scroll: doc.documentElement.scrollWidth, viewport: vw,
                                    right: right, worst: worst});
  document.body.appendChild(out);
});
</script>
</body></html>
"""


def _measure(html: str, tmp_path: Path) -> dict:
    import html as html_lib
    import json

    page = tmp_path / "measure.html"
    page.write_text(WRAPPER % {"width": PHONE_WIDTH, "srcdoc": html_lib.escape(html, quote=True)},
                    encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="evidencekit-test-chromium-") as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--window-size=800,1000", "--force-device-scale-factor=1",
             "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    match = re.search(r'<pre id="measure">(.*?)</pre>', proc.stdout.decode("utf-8", "replace"),
                      re.S)
    assert match, f"Chromium printed no measurement (exit {proc.returncode}): " \
                  f"{proc.stderr.decode('utf-8', 'replace')[-500:]}"
    return json.loads(html_lib.unescape(match.group(1)))


def _check(html: str, tmp_path: Path) -> None:
    m = _measure(html, tmp_path)
    assert m["viewport"] == PHONE_WIDTH, f"the page was not laid out at phone width: {m}"
    assert m["scroll"] <= PHONE_WIDTH, f"the page scrolls sideways at {PHONE_WIDTH} px: {m}"
    assert m["right"] <= PHONE_WIDTH + TOLERANCE_PX, \
        f"an element sticks out past {PHONE_WIDTH} px ({m['right']:.1f} px): {m['worst']}"


def test_bundled_leaflet_fits_a_phone(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "find_chromium", lambda: None)  # no PDF needed here
    report = render.build(ROOT / "evidence", tmp_path / "out")
    assert report.ok, report.summary()
    _check((tmp_path / "out" / "leaflet.html").read_text(encoding="utf-8"), tmp_path)


def test_long_unbroken_words_and_addresses_wrap(tmp_path, monkeypatch):
    # A DOI or URL has no spaces; a study field may hold a long token. Both must wrap, not overflow.
    monkeypatch.setattr(render, "find_chromium", lambda: None)
    evidence = make_evidence(tmp_path, inject="x" * 120 + " https://example.org/" + "a" * 150)
    report = render.build(evidence, tmp_path / "out")
    assert report.ok, report.summary()
    _check((tmp_path / "out" / "leaflet.html").read_text(encoding="utf-8"), tmp_path)


def test_pdf_is_printed(tmp_path):
    evidence = make_evidence(tmp_path)
    report = render.build(evidence, tmp_path / "out")
    assert report.pdf == "written", report.pdf_message
    data = (tmp_path / "out" / "leaflet.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    # no print date or local file path in the PDF (headers and footers are off)
    assert str(tmp_path).encode() not in data


def test_the_check_catches_an_overflowing_page(tmp_path):
    # Guard against a check that always passes (e.g. if the frame were laid out wider).
    html = ('<!DOCTYPE html><html lang="en"><head><meta name="viewport" '
            'content="width=device-width, initial-scale=1"></head><body>'
            '<div style="width:600px">too wide</div></body></html>')
    with pytest.raises(AssertionError, match="scrolls sideways|sticks out"):
        _check(html, tmp_path)
