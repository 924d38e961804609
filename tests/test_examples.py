"""The bundled example review examples/bcg-vaccine, built as a user would build it.

The example is R metafor's data set dat.bcg (13 trials of the BCG vaccine; Colditz et al. 1994),
made with `evidencekit new` + `evidencekit import` by examples/bcg-vaccine/make.sh. These tests
build it into a temporary folder through the CLI and check what a reader of the outputs would
check: the pooled risk ratio equals metafor's REML + Knapp-Hartung fit (tests/data/
metafor-bcg-example.R wrote the JSON; no R is needed here), nothing speaks of the first bundled
review's topic, the leaflet's title names the vaccine, and the claim names its comparator and is
worded no stronger than its certainty. The same topic-leak check runs on the five reviews of
tests/test_reviews.py.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from evidencekit.grade.ladder import max_strength, strength_of
from evidencekit.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "bcg-vaccine"
CSV = EXAMPLE / "source" / "dat-bcg.csv"
METAFOR = json.loads((Path(__file__).parent / "data" / "metafor-bcg-example.json")
                     .read_text(encoding="utf-8"))

#: metafor stops REML at a change below 1e-5 in tau²; the engine follows its iterations.
REL_TOL = 1e-6

#: Words of the first bundled review (dry needling for neck pain) that no other review may show.
TOPIC_LEAK = re.compile(r"dry.?needl|needle|trigger.?point|whiplash|myofascial|neck pain",
                        re.IGNORECASE)

#: The built files a patient or clinician reads, and the claims a script reads.
BUILT_TEXT = ("leaflet.md", "leaflet.html", "clinician-summary.md", "clinician-summary.html",
              "citation-summary.md", "claims.json")

#: The import arguments make.sh uses (kept in step with it by test_make_script_uses_them).
IMPORT_ARGS = ["--question", "tb", "--measure", "RR", "--outcome", "tuberculosis",
               "--population", "people in trials of the BCG vaccine", "--lower-is-better",
               "--comparator", "no vaccine"]


def _quiet(argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue() + err.getvalue()


def _leaks(folder: Path) -> dict[str, list[str]]:
    found = {}
    for name in BUILT_TEXT:
        path = folder / name
        if path.exists():
            hits = sorted({m.group(0) for m in TOPIC_LEAK.finditer(path.read_text("utf-8"))})
            if hits:
                found[name] = hits
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bcg") / "build"
    code, text = _quiet(["build", "--evidence", EXAMPLE, "--out", out])
    assert code == EXIT_OK, text
    return out


@pytest.fixture(scope="module")
def claim(built) -> dict:
    (only,) = json.loads((built / "claims.json").read_text(encoding="utf-8"))["claims"]
    return only


def test_example_validates_without_errors():
    code, text = _quiet(["validate", EXAMPLE, "--format", "json"])
    report = json.loads(text)
    assert code == EXIT_OK and report["ok"], report["errors"]
    assert report["studies"] == METAFOR["k"] == 13
    assert report["errors"] == []


def test_example_is_what_import_makes_from_its_csv(tmp_path):
    """Re-importing the committed CSV into a copy changes nothing: the folder is reproducible."""
    copy = tmp_path / "bcg-vaccine"
    shutil.copytree(EXAMPLE, copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    code, text = _quiet(["import", copy / "source" / "dat-bcg.csv", "--evidence", copy,
                         *IMPORT_ARGS])
    assert code == EXIT_OK, text
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before


def test_make_script_uses_the_five_commands_and_these_arguments():
    script = (EXAMPLE / "make.sh").read_text(encoding="utf-8")
    for command in ("new", "import", "validate", "claims", "build"):
        assert re.search(rf'"\$EK" {command}\b', script), command
    flat = " ".join(script.replace("\\\n", " ").split())
    for arg in IMPORT_ARGS:
        assert arg in flat, arg


def test_review_settings_are_filled_honestly():
    import yaml

    settings = yaml.safe_load((EXAMPLE / "review.yaml").read_text(encoding="utf-8"))
    assert settings["authors"] == ["evidencekit example"]
    assert settings["conflicts"] == "none"
    assert settings["review_date"] and settings["search_date"]
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8").lower()
    assert "worked example" in readme and "not clinical advice" in readme
    assert "colditz" in readme


def test_pooled_risk_ratio_equals_metafor_reml_knha(claim):
    effect = claim["effect"]
    assert effect["measure"] == METAFOR["measure"] == "RR"
    assert effect["k"] == METAFOR["k"]
    assert effect["method"] == "REML" and effect["ci_method"] == "hksj"
    for key in ("estimate", "ci_low", "ci_high", "tau2", "i2", "pi_low", "pi_high"):
        assert math.isclose(effect[key], METAFOR[key], rel_tol=REL_TOL), (key, effect, METAFOR)


def test_no_built_file_speaks_of_the_first_review(built):
    present = [n for n in BUILT_TEXT if (built / n).exists()]
    assert present == list(BUILT_TEXT)
    assert _leaks(built) == {}


def test_leaflet_title_names_the_intervention(built):
    html = (built / "leaflet.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert title and "BCG vaccination" in title.group(1), title


def test_claim_names_its_comparator_and_is_no_stronger_than_its_certainty(claim):
    assert "no vaccine" in claim["claim"]
    assert "tuberculosis" in claim["claim"]
    assert strength_of(claim["claim"]) <= max_strength(claim["certainty"])
    # 13 studies, none assessed for risk of bias and I² above 90 %: not high or moderate.
    assert claim["certainty"] in ("low", "very low"), claim["domains"]


def test_the_five_reviews_of_other_topics_do_not_leak_the_first_topic(tmp_path_factory):
    """Cheap: each review's texts are rendered in memory, as `build` renders them.

    Rendered without figures: `build` itself stops on passive-smoking (cohort and case-control
    designs), in the evidence map (evidence_figures.evidence_map has no column for those designs).
    """
    from evidencekit.outputs.citations import render_citation_summary
    from evidencekit.grade.claims import make_claims
    from evidencekit.outputs.clinician import render_clinician_summary
    from evidencekit.outputs.leaflet import render_leaflet
    from evidencekit.loading import load_library
    from evidencekit.outputs.build import claims_json

    from test_reviews import DATA, REVIEWS

    leaks = {}
    for name, (intervention, args, *_rest) in REVIEWS.items():
        folder = tmp_path_factory.mktemp(name) / "evidence"
        code, text = _quiet(["new", folder, "--intervention", intervention])
        assert code == EXIT_OK, text
        code, text = _quiet(["import", DATA / name / "studies.csv", "--evidence", folder, *args])
        assert code == EXIT_OK, text
        library = load_library(folder)
        claims = make_claims(library, by_comparison=True)
        texts = {"leaflet.md": render_leaflet(claims, library, "md"),
                 "leaflet.html": render_leaflet(claims, library, "html"),
                 "clinician-summary.md": render_clinician_summary(claims, library, "md"),
                 "clinician-summary.html": render_clinician_summary(claims, library, "html"),
                 "citation-summary.md": render_citation_summary(library, claims),
                 "claims.json": claims_json(claims)}
        title = re.search(r"<title>(.*?)</title>", texts["leaflet.html"], re.DOTALL)
        assert title and intervention.lower() in title.group(1).lower(), (name, title)
        assert intervention in texts["leaflet.md"], name
        found = {file: sorted({m.group(0) for m in TOPIC_LEAK.finditer(body)})
                 for file, body in texts.items() if TOPIC_LEAK.search(body)}
        if found:
            leaks[name] = found
    assert leaks == {}


AUDIT_PAGE = ("BCG vaccination cures everyone who tries it. It is completely safe. "
              "Please book online or call the front desk.\n")


def _audit(tmp_path) -> dict:
    page = tmp_path / "clinic.txt"
    page.write_text(AUDIT_PAGE, encoding="utf-8")
    code, text = _quiet(["audit", page, "--evidence", EXAMPLE, "--format", "json"])
    assert code == EXIT_OK, text
    return json.loads(text)


def test_audit_with_the_example_flags_the_claims_with_reasons_about_its_topic(tmp_path):
    report = _audit(tmp_path)
    flagged = {f["text"]: f for f in report["findings"] if f["verdict"] != "supported"}
    assert set(flagged) == {"BCG vaccination cures everyone who tries it.",
                            "It is completely safe."}, report["findings"]
    assert not any("front desk" in f["text"] for f in report["findings"])
    for finding in flagged.values():
        words = " ".join([finding["reason"], finding["suggestion"], *finding["questions"]])
        # Nothing of the first bundled review (its topic or its question ids) in the reasons.
        assert not TOPIC_LEAK.search(words), finding
        assert "pain" not in words.lower(), finding
    cures = flagged["BCG vaccination cures everyone who tries it."]
    assert cures["verdict"] == "overstated" and cures["questions"] == ["tb"], cures
    assert "tuberculosis" in cures["suggestion"], cures
    safe = flagged["It is completely safe."]
    assert safe["verdict"] == "unsupported", safe


def test_audit_suggestions_name_the_comparator_and_the_folder_in_use(tmp_path):
    """The wording offered instead names what the studies compared the vaccine with, and the
    safety finding speaks of the vaccine and points to no file of the bundled review."""
    report = _audit(tmp_path)
    by_text = {f["text"]: f for f in report["findings"]}
    cures = by_text["BCG vaccination cures everyone who tries it."]
    assert "no vaccine" in cures["suggestion"], cures["suggestion"]
    safe = by_text["It is completely safe."]
    # A file it points to is this review's (examples/bcg-vaccine), never the bundled evidence/.
    for message in (safe["reason"], safe["suggestion"]):
        assert "evidence/questions.yaml" not in message, message
    assert "BCG vaccination" in safe["reason"] + safe["suggestion"], safe
