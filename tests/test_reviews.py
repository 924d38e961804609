"""Five reviews of other topics, made only with `evidencekit new` and `evidencekit import`.

Each is a CSV kept under tests/data/reviews/<name>/ (exported from an R metafor data set by
tests/data/reviews/make-reviews.R, which also wrote metafor's REML fits to metafor-reviews.json).
The tests build each review in a temporary folder through the CLI, as a new user would, and check
the claim's pooled effect against metafor, its certainty and domain changes, and its wording.
They never need R.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evidencekit.cli import EXIT_OK, main

DATA = Path(__file__).parent / "data" / "reviews"
METAFOR = json.loads((DATA / "metafor-reviews.json").read_text(encoding="utf-8"))

#: Agreement with metafor's REML fit: the estimate, its HKSJ CI and tau² (relative). metafor stops
#: REML at a change below 1e-5 in tau²; the engine reproduces its iterations, so 1e-6 holds.
REL_TOL = 1e-6

#: name -> (intervention, import arguments, expected certainty, expected domain changes, words)
REVIEWS = {
    "bcg": ("BCG vaccination",
            ["--question", "tb", "--measure", "RR", "--outcome", "tuberculosis",
             "--population", "people in trials of the BCG vaccine", "--lower-is-better",
             "--comparator", "no vaccine"],
            "low", {"risk_of_bias": -1, "inconsistency": -1, "imprecision": 0,
                    "publication_bias": 0, "indirectness": 0},
            ["may reduce tuberculosis", "compared it with no vaccine", "in 1000"]),
    "stroke-los": ("care in a specialist stroke unit",
                   ["--question", "length-of-stay", "--measure", "MD", "--outcome",
                    "days in hospital", "--population", "people admitted after a stroke",
                    "--lower-is-better", "--comparator", "routine care on a general ward",
                    "--important-effect", "5"],
                   "very low", {"risk_of_bias": -1, "inconsistency": -1, "imprecision": -2,
                                "publication_bias": 0, "indirectness": 0},
                   ["The evidence is very uncertain", "compared it with routine care"]),
    "passive-smoking": ("exposure to a smoking spouse",
                        ["--question", "lung-cancer", "--measure", "OR", "--outcome",
                         "lung cancer", "--population", "women who have never smoked",
                         "--lower-is-better", "--comparator", "no exposure (a non-smoking "
                         "spouse)"],
                        "very low", {"risk_of_bias": -1, "publication_bias": -1,
                                     "indirectness": 0},
                        ["The evidence is very uncertain", "compared it with no exposure"]),
    "magnesium": ("intravenous magnesium",
                  ["--question", "death", "--measure", "RR", "--outcome", "death",
                   "--population", "people with a heart attack", "--lower-is-better",
                   "--comparator", "placebo"],
                  "very low", {"risk_of_bias": -1, "inconsistency": -1, "publication_bias": -1,
                               "indirectness": 0},
                  ["The evidence is very uncertain", "compared it with placebo"]),
    "vasospasm": ("hyperdynamic therapy",
                  ["--question", "improved", "--measure", "PLO", "--outcome",
                   "improvement of the deficits caused by vasospasm", "--population",
                   "people with cerebral vasospasm after a brain bleed", "--higher-is-better"],
                  "very low", {"risk_of_bias": -1, "inconsistency": -1, "imprecision": 0,
                               "publication_bias": -1, "indirectness": 0},
                  ["very uncertain about how often"]),
}


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every review made with `new` + `import`, and its claims JSON."""
    import contextlib
    import io

    out = {}
    for name, (intervention, args, *_rest) in REVIEWS.items():
        folder = tmp_path_factory.mktemp(name) / "evidence"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["new", str(folder), "--intervention", intervention]) == EXIT_OK
            assert main(["import", str(DATA / name / "studies.csv"), "--evidence", str(folder),
                         *args]) == EXIT_OK
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["claims", "--evidence", str(folder), "--format", "json"]) == EXIT_OK
        out[name] = (folder, json.loads(buf.getvalue())["claims"])
    return out


def test_the_grid_of_reviews_is_complete():
    assert set(REVIEWS) == {k for k, v in METAFOR.items() if isinstance(v, dict)}
    assert len(REVIEWS) == 5


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_new_review_validates(name, built, capsys):
    folder, _ = built[name]
    code, out, _ = _run(capsys, "validate", folder, "--format", "json")
    report = json.loads(out)
    assert code == EXIT_OK and report["ok"], report["errors"]
    assert report["studies"] == METAFOR[name]["k"]


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_pooled_effect_equals_metafor(name, built):
    _, claims = built[name]
    (claim,) = claims
    effect, ref = claim["effect"], METAFOR[name]
    assert effect["k"] == ref["k"]
    assert effect["method"] == "REML" and effect["ci_method"] == "hksj"
    for ours, theirs in (("estimate", "natural_estimate"), ("ci_low", "natural_ci_low"),
                         ("ci_high", "natural_ci_high")):
        assert math.isclose(effect[ours], ref[theirs], rel_tol=REL_TOL), (ours, effect, ref)
    assert math.isclose(effect["tau2"], ref["tau2"], rel_tol=REL_TOL)
    assert math.isclose(effect["i2"], ref["i2"], rel_tol=REL_TOL)
    transf = {"RR": math.exp, "OR": math.exp, "MD": lambda x: x,
              "PLO": lambda x: 1 / (1 + math.exp(-x))}[ref["measure"]]
    assert math.isclose(effect["pi_low"], ref["pi_low"] if ref["measure"] == "MD"
                        else ref["pi_low"], rel_tol=1e-5) or math.isclose(
        effect["pi_low"], transf(ref["pi_low"]), rel_tol=1e-5)


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_certainty_and_domains_are_defensible(name, built):
    _, (claim,) = built[name]
    _, _, certainty, changes, _ = REVIEWS[name]
    assert claim["certainty"] == certainty, claim["domains"]
    for domain, change in changes.items():
        assert claim["domains"][domain]["change"] == change, (domain, claim["domains"][domain])
    assert all(d["reason"] for d in claim["domains"].values())


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_wording_matches_the_certainty(name, built):
    from evidencekit.grade.ladder import max_strength, strength_of

    _, (claim,) = built[name]
    for phrase in REVIEWS[name][4]:
        assert phrase in claim["claim"], claim["claim"]
    assert strength_of(claim["claim"]) <= max_strength(claim["certainty"])
    text = " ".join([claim["claim"], *claim["caveats"]]).lower()
    for word in ("needl", "trigger point", "whiplash", "neck"):
        assert word not in text


def test_single_arm_proportion_says_it_cannot_show_causation(built):
    _, (claim,) = built["vasospasm"]
    assert claim["effect"]["measure"] == "PLO" and 0 < claim["effect"]["estimate"] < 1
    assert any("no comparison group" in c and "cannot show" in c for c in claim["caveats"])


def test_egger_is_used_from_ten_studies_and_agrees_with_metafor(built):
    for name in ("bcg", "magnesium", "passive-smoking"):
        _, (claim,) = built[name]
        reason = claim["domains"]["publication_bias"]["reason"]
        assert "Egger" in reason
        p = float(reason.split("p = ")[1].split(":")[0].split(" ")[0])
        assert math.isclose(p, METAFOR[name]["egger_p"], rel_tol=0.05), (p, reason)
    _, (claim,) = built["stroke-los"]  # 9 studies: not tested, and it says so
    assert "cannot" in claim["domains"]["publication_bias"]["reason"] or \
        "not assessable" in claim["domains"]["publication_bias"]["reason"]


def test_zero_cells_are_corrected_and_named(built):
    assert METAFOR["magnesium"]["zero_cell_studies"] >= 1


@pytest.mark.parametrize("name", ["bcg", "vasospasm"])
def test_reimport_changes_nothing(name, built, capsys):
    folder, _ = built[name]
    before = _snapshot(folder)
    _, args, *_ = REVIEWS[name]
    code, _, _ = _run(capsys, "import", DATA / name / "studies.csv", "--evidence", folder, *args)
    assert code == EXIT_OK
    assert _snapshot(folder) == before
