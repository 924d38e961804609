"""`evidencekit new` and `evidencekit import`: the contracts in DESIGN.md."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from evidencekit.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_new_writes_a_folder_that_validates(capsys, tmp_path):
    folder = tmp_path / "review"
    code, _, _ = _run(capsys, "new", folder, "--intervention", "a breathing exercise",
                      "--title", "Breathing exercises for asthma")
    assert code == EXIT_OK
    for name in ("review.yaml", "references.bib", "questions.yaml", "TEMPLATE.yaml.example"):
        assert (folder / name).is_file(), name
    assert (folder / "studies").is_dir()
    settings = yaml.safe_load((folder / "review.yaml").read_text())
    assert settings["intervention"] == "a breathing exercise"
    assert settings["title"] == "Breathing exercises for asthma"
    assert settings["search_date"] is None  # never invented
    code, out, _ = _run(capsys, "validate", folder, "--format", "json")
    report = json.loads(out)
    assert code == EXIT_OK and report["ok"] and report["studies"] == 0
    assert any(w["field"] == "search_date" for w in report["warnings"])


def test_new_refuses_a_folder_that_is_not_empty(capsys, tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    code, _, err = _run(capsys, "new", tmp_path, "--intervention", "x ray")
    assert code == EXIT_USAGE and "not an empty folder" in err and "Traceback" not in err
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_import_skips_rows_with_empty_cells_and_warns_on_empty_author_year(capsys, tmp_path):
    folder = tmp_path / "ev"
    _run(capsys, "new", folder, "--intervention", "drug A")
    csv = tmp_path / "trials.csv"
    csv.write_text("study,author,year,m1i,sd1i,n1i,m2i,sd2i,n2i\n"
                   "alpha2001,Alpha,2001,10,2,20,12,2,21\n"
                   "beta2002,,,9,3,15,11,3,15\n"
                   "gamma2003,Gamma,2003,,3,15,11,3,15\n")
    code, out, err = _run(capsys, "import", csv, "--evidence", folder, "--question", "symptoms",
                          "--measure", "MD", "--outcome", "symptom score", "--population",
                          "adults", "--lower-is-better", "--comparator", "placebo")
    assert code == EXIT_OK
    assert "trials.csv:4" in err and "row skipped" in err and "m1i" in err
    assert "trials.csv:3 [author]" in err and "trials.csv:3 [year]" in err
    assert sorted(p.stem for p in (folder / "studies").glob("*.yaml")) == ["alpha2001", "beta2002"]
    study = yaml.safe_load((folder / "studies" / "alpha2001.yaml").read_text())
    prov = study["results"][0]["provenance"]
    assert prov == {"source": "trials.csv, row 1", "quote": "alpha2001,Alpha,2001,10,2,20,12,2,21"}
    questions = yaml.safe_load((folder / "questions.yaml").read_text())["questions"]
    (q,) = questions
    assert q["id"] == "symptoms" and q["better"] == "lower" and q["comparator"] == "placebo"
    assert q["comparator_kind"] == "sham-or-placebo"
    assert [e["study"] for e in q["evidence"]] == ["alpha2001", "beta2002"]
    bib = (folder / "references.bib").read_text()
    assert "@misc{alpha2001," in bib and "@misc{beta2002," in bib
    code, out, _ = _run(capsys, "validate", folder)
    assert code == EXIT_OK, out
    code, out, _ = _run(capsys, "claims", "--evidence", folder, "--format", "json")
    (claim,) = json.loads(out)["claims"]
    assert claim["comparison"] == "drug A vs placebo"
    assert claim["effect"]["k"] == 2 and claim["effect"]["measure"] == "MD"
    assert {r["kind"] for r in claim["sensitivity"]} >= {"leave-one-out", "model"}


def test_import_extends_a_question_and_bad_input_names_the_line(capsys, tmp_path):
    folder = tmp_path / "ev"
    _run(capsys, "new", folder, "--intervention", "drug A")
    csv = tmp_path / "more.csv"
    csv.write_text("study,ai,n1i,ci,n2i\nDelta 2004,1,10,2,10\n")
    code, _, err = _run(capsys, "import", csv, "--evidence", folder, "--question", "q",
                        "--measure", "RR", "--outcome", "death", "--population", "adults",
                        "--lower-is-better")
    assert code == EXIT_USAGE and "more.csv:2" in err and "study" in err
    code, _, err = _run(capsys, "import", csv, "--evidence", tmp_path / "nothing", "--question",
                        "q", "--measure", "RR", "--outcome", "death", "--population", "adults",
                        "--lower-is-better")
    assert code == EXIT_USAGE and "evidencekit new" in err


def _imported_review(capsys, tmp_path, table: str, *import_args) -> Path:
    """A review made by ``new`` and one ``import`` of ``table`` (a CSV text), as a user would."""
    folder = tmp_path / "ev"
    _run(capsys, "new", folder, "--intervention", "drug A")
    csv = tmp_path / "t.csv"
    csv.write_text(table)
    code, _, err = _run(capsys, "import", csv, "--evidence", folder, "--population", "adults",
                        "--lower-is-better", *import_args)
    assert code == EXIT_OK, err
    return folder


def test_a_typed_direction_in_an_imported_study_is_checked(capsys, tmp_path):
    folder = _imported_review(
        capsys, tmp_path,
        "study,author,year,m1i,sd1i,n1i,m2i,sd2i,n2i\nalpha2001,A,2001,2.5,1.8,30,4.1,2.0,30\n",
        "--question", "pain", "--measure", "MD", "--outcome", "pain")
    path = folder / "studies" / "alpha2001.yaml"
    path.write_text(path.read_text().replace("  contrast: between-groups",
                                             "  contrast: between-groups\n  direction: harm"))
    code, out, _ = _run(capsys, "validate", folder, "--format", "json")
    assert code == EXIT_FINDINGS
    (err,) = json.loads(out)["errors"]
    assert err["file"].endswith("alpha2001.yaml") and err["field"] == "results[0].direction"


def test_wording_overrides_are_checked_and_used(capsys, tmp_path):
    folder = _imported_review(
        capsys, tmp_path, "study,author,year,ai,n1i,ci,n2i\nalpha2001,A,2001,5,100,10,100\n",
        "--question", "death", "--measure", "RR", "--outcome", "death", "--comparator", "placebo")
    settings = folder / "review.yaml"
    base = settings.read_text()
    settings.write_text(base + "wording:\n  comparison_sentnce: 'x {comparator}'\n")
    code, out, _ = _run(capsys, "validate", folder, "--format", "json")
    assert code == EXIT_FINDINGS
    (err,) = json.loads(out)["errors"]
    assert err["field"] == "wording.comparison_sentnce" and "comparison_sentence" in err["message"]
    settings.write_text(base + "wording:\n  comparison_sentence: 'It was tested against "
                               "{comparator}.'\n")
    code, out, _ = _run(capsys, "claims", "--evidence", folder, "--format", "json")
    assert code == EXIT_OK
    (claim,) = json.loads(out)["claims"]
    assert "It was tested against placebo." in claim["claim"]
