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
from evidencekit.outputs import build as render
from evidencekit.outputs import pdf as pdf_module

ROOT = Path(__file__).resolve().parents[1]
PHONE_WIDTH = 375
#: Sub-pixel layout may put an edge a fraction of a pixel past the viewport without any visible
#: overflow; half a pixel is below what a screen can show.
TOLERANCE_PX = 0.5

CHROMIUM = pdf_module.find_chromium()
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
    monkeypatch.setattr(pdf_module, "find_chromium", lambda: None)  # no PDF needed here
    report = render.build(ROOT / "evidence", tmp_path / "out")
    assert report.ok, report.summary()
    _check((tmp_path / "out" / "leaflet.html").read_text(encoding="utf-8"), tmp_path)


def test_long_unbroken_words_and_addresses_wrap(tmp_path, monkeypatch):
    # A DOI or URL has no spaces; a study field may hold a long token. Both must wrap, not overflow.
    monkeypatch.setattr(pdf_module, "find_chromium", lambda: None)
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


# ---------------------------------------------------------------------------------------------
# axe-core in a real browser at phone and desktop width; the PDF's pages as images
#
# Playwright drives the system Chromium (executable_path: nothing is downloaded). axe-core's
# JavaScript comes from the axe-playwright-python package (MPL-2.0), read from its installed files.

WIDTHS = (375, 1280)
#: The WCAG 2.1 A and AA rules of axe-core (its tags for them).
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Blank band checked on every PDF page edge, in points (1/72 in): the print margins are 14 mm
#: (about 40 pt), so anything drawn this close to the paper's edge has spilled out of the page box.
PDF_EDGE_PT = 20
#: Issue 13: a leaflet a clinic can hand over is at most four printed pages.
PDF_MAX_PAGES = 4


def _axe_source() -> str:
    from importlib.resources import files

    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "out"
    report = render.build(ROOT / "evidence", out)
    assert report.ok, report.summary()
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _open(browser, path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("name", ["leaflet.html", "clinician-summary.html"])
@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_wcag_21_aa_violation_and_nothing_overflows(browser, built, name, width):
    page = _open(browser, built / name, width)
    try:
        page.add_script_tag(content=_axe_source())
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            WCAG_21_AA)
        assert result["passes"], "axe ran no check at all"
        problems = [f"{v['id']} ({v['impact']}): {v['help']} - "
                    f"{[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]
        assert problems == [], f"{name} at {width} px"
        sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, "
                              "client: document.documentElement.clientWidth})")
        assert sizes["client"] == width
        assert sizes["scroll"] <= sizes["client"], f"{name} scrolls sideways at {width} px"
    finally:
        page.close()


def test_axe_check_catches_a_violation(browser, tmp_path):
    # Guard: the same call must report a page with an unlabelled image and no language.
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>"
                   "<img src='data:,'><p style='color:#ccc'>faint</p></body></html>")
    page = _open(browser, bad, 375)
    try:
        page.add_script_tag(content=_axe_source())
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            WCAG_21_AA)
        assert {"image-alt", "html-has-lang"} <= {v["id"] for v in result["violations"]}
    finally:
        page.close()


def test_screenshots_at_phone_width(browser, built, tmp_path):
    # Kept as files for a person to look at (pytest --basetemp=DIR keeps them); the test checks
    # the leaflet's text is all on the screen, not cut at the right edge.
    for name in ("leaflet.html", "clinician-summary.html"):
        page = _open(browser, built / name, 375)
        try:
            page.screenshot(path=str(tmp_path / f"{name}.375.png"), full_page=True)
            widest = page.evaluate("() => Math.max(...[...document.querySelectorAll('body *')]"
                                   ".map(e => e.getBoundingClientRect().right))")
            assert widest <= 375 + TOLERANCE_PX, name
        finally:
            page.close()
        assert (tmp_path / f"{name}.375.png").stat().st_size > 10_000


def test_pdf_has_at_most_four_pages(built):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(built / "leaflet.pdf"))
    try:
        assert 1 <= len(pdf) <= PDF_MAX_PAGES, f"{len(pdf)} pages"
    finally:
        pdf.close()


def test_pdf_has_nothing_clipped_at_the_margins(built):
    import numpy as np
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(built / "leaflet.pdf"))
    try:
        assert len(pdf) >= 1
        text = ""
        for number in range(len(pdf)):
            page = pdf[number]
            width, height = page.get_size()
            # every character lies inside the paper, clear of its edge
            textpage = page.get_textpage()
            for i in range(textpage.count_chars()):
                left, bottom, right, top = textpage.get_charbox(i)
                if right - left <= 0:
                    continue  # spaces and line ends have no box
                assert PDF_EDGE_PT <= left and right <= width - PDF_EDGE_PT, \
                    f"page {number + 1}: a character at x {left:.0f}-{right:.0f} of {width:.0f}"
                assert PDF_EDGE_PT <= bottom and top <= height - PDF_EDGE_PT, \
                    f"page {number + 1}: a character at y {bottom:.0f}-{top:.0f} of {height:.0f}"
            text += textpage.get_text_range() + "\n"
            # and the rendered page is blank in a band along every edge
            scale = 1.0  # 72 dpi: one pixel per point
            pixels = np.asarray(page.render(scale=scale).to_pil().convert("L"))
            band = int(PDF_EDGE_PT * scale)
            edges = (pixels[:band, :], pixels[-band:, :], pixels[:, :band], pixels[:, -band:])
            assert all(e.min() >= 250 for e in edges), f"page {number + 1}: ink at the edge"
        # every reference number is printed whole (issue 13: "13." came out as ".3.")
        numbers = re.findall(r'<li id="ref-(\d+)">', (built / "leaflet.html").read_text())
        assert numbers
        for n in numbers:
            assert re.search(rf"(?m)^\s*{n}\.\s", text), f"reference number {n}. not in the PDF"
    finally:
        pdf.close()
