"""Loading and validating an evidence folder (evidencekit.evidence.library).

Tests build evidence folders in ``tmp_path`` from the small valid fixture in
``tests/bad_inputs/_base`` and break one thing at a time, so they do not depend on the real data.
Only ``test_bundled_evidence_*`` reads the repository's ``evidence/``.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evidencekit.evidence import records
from evidencekit.errors import InputError, Message
from evidencekit.evidence.library import Library, study_to_yaml, write_json_schema
from evidencekit.evidence.reading import MAX_FILE_BYTES
from evidencekit.evidence.report import ValidationReport
from evidencekit.evidence.scan import count_numbers
from evidencekit.validation import load_library, validate_evidence

HERE = Path(__file__).parent
BASE = HERE / "bad_inputs" / "_base"
REPO = HERE.parent


def make_evidence(tmp_path: Path, edits=(), delete=(), files=None) -> Path:
    """Copy the valid fixture into ``tmp_path/evidence`` and apply text edits.

    ``edits`` are ``(relative path, old text, new text)``; the old text must be present, so a test
    cannot silently stop breaking what it means to break.
    """
    root = tmp_path / "evidence"
    shutil.copytree(BASE, root)
    for rel, old, new in edits:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    for rel in delete:
        target = root / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    for rel, content in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found in {path}")


def single_error(report: ValidationReport) -> Message:
    assert len(report.errors) == 1, "\n".join(map(str, report.errors))
    return report.errors[0]


SMITH = "studies/smith2020.yaml"


# ---------------------------------------------------------------------------------------------
# the valid fixture


def test_valid_fixture_validates_clean(tmp_path):
    root = make_evidence(tmp_path)
    report = validate_evidence(root)
    assert report.ok
    assert report.errors == ()
    assert report.warnings == ()
    assert report.studies == 3
    assert report.study_ids == ("jones2019", "lee2021", "smith2020")
    assert report.questions == 2
    assert report.references == 3


def test_numbers_are_counted_generically(tmp_path):
    report = validate_evidence(make_evidence(tmp_path))
    # smith2020: population n (1), two arms x (n_randomised, n_analysed) (4), MD estimate + CI (3),
    # two arm summaries x (mean, sd, n) (6), one p-value (1) = 15;
    # lee2021: SMD estimate + CI (3), k_studies, n_participants (2) = 5; jones2019: none.
    assert report.numbers == 20
    assert report.numbers_with_provenance == 20


def test_number_count_sees_values_without_provenance():
    # ImportantEffect carries a number and no provenance object: the walker must count it as
    # unsourced (the study records cannot express that case; their validators forbid it).
    question = records.Question(
        id="q", title="t", population="p", intervention="i", comparator="c", outcome="o",
        time_window="w", important_effect={"value": 1.5, "scale": "points", "source": "x"})
    assert count_numbers(question) == (1, 0)
    sourced = records.Population(description="d", n=12,
                                 provenance={"source": "abc", "quote": "twelve"})
    assert count_numbers(sourced) == (1, 1)


def test_numbers_left_at_defaults_are_not_counted(tmp_path):
    root = make_evidence(tmp_path, edits=[(SMITH, "    ci_high: 0.0\n",
                                          "    ci_high: 0.0\n    ci_level: 0.95\n")])
    assert validate_evidence(root).numbers == 21  # ci_level counted only when written


def test_report_to_dict_has_the_json_contract(tmp_path):
    report = validate_evidence(make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: 0")]))
    d = report.to_dict()
    for key in ("ok", "studies", "study_ids", "numbers", "numbers_with_provenance", "errors",
                "warnings"):
        assert key in d
    assert d["ok"] is False
    assert set(d["errors"][0]) == {"file", "line", "field", "message"}
    json.dumps(d)  # plain JSON
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "file", "line", "field", "message"]
    assert frame.loc[0, "severity"] == "error"
    assert "FAILED" in report.summary() and "results[1].arms[0].sd" in report.summary()


# ---------------------------------------------------------------------------------------------
# load_library


def test_load_library_returns_typed_sorted_records(tmp_path):
    lib = load_library(make_evidence(tmp_path))
    assert isinstance(lib, Library)
    assert list(lib.studies) == ["jones2019", "lee2021", "smith2020"]
    assert list(lib.questions) == ["pain-short-term", "safety"]  # file order
    assert list(lib.references) == ["smith2020", "jones2019", "lee2021"]  # bib order
    assert isinstance(lib.study("smith2020"), records.Study)
    assert lib.study("smith2020").result("pain-md-6w").estimate == -0.9
    assert lib.question("safety").kind == "harm"
    assert lib.reference("jones2019").year == 2019
    assert lib.root == (tmp_path / "evidence").resolve()


def test_library_lookup_errors_suggest_the_closest_key(tmp_path):
    lib = load_library(make_evidence(tmp_path))
    with pytest.raises(KeyError, match="did you mean 'smith2020'"):
        lib.study("smith2021")
    with pytest.raises(KeyError, match="no question 'nope'"):
        lib.question("nope")


def test_library_is_immutable(tmp_path):
    lib = load_library(make_evidence(tmp_path))
    with pytest.raises(TypeError):
        lib.studies["x"] = lib.study("smith2020")  # type: ignore[index]
    with pytest.raises(AttributeError):
        lib.root = Path("/")  # type: ignore[misc]
    with pytest.raises(Exception):
        lib.study("smith2020").id = "other"  # type: ignore[misc]


def test_load_library_raises_input_error_listing_the_errors(tmp_path):
    root = make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: -1.2")])
    with pytest.raises(InputError) as info:
        load_library(root)
    text = str(info.value)
    assert "evidencekit validate" in text
    assert "results[1].arms[0].sd" in text


def test_load_library_missing_folder_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_library(tmp_path / "nowhere")


def test_load_library_works_without_questions(tmp_path):
    root = make_evidence(tmp_path, delete=["questions.yaml"])
    lib = load_library(root)
    assert dict(lib.questions) == {}
    assert lib.questions_frame().empty
    report = validate_evidence(root)
    assert report.ok
    assert [m.file for m in report.warnings] == [f"{root.as_posix()}/questions.yaml"]
    assert "no questions.yaml" in report.warnings[0].message


def test_message_files_are_shown_as_given(tmp_path, monkeypatch):
    make_evidence(tmp_path, edits=[(SMITH, "sd: 1.2", "sd: 0")])
    monkeypatch.chdir(tmp_path)
    report = validate_evidence("evidence")
    assert single_error(report).file == "evidence/studies/smith2020.yaml"


# ---------------------------------------------------------------------------------------------
# pandas views


def test_studies_frame(tmp_path):
    frame = load_library(make_evidence(tmp_path)).studies_frame()
    assert frame.index.name == "key"
    assert list(frame.index) == ["jones2019", "lee2021", "smith2020"]
    row = frame.loc["smith2020"]
    assert row["n"] == 40 and row["results"] == 4 and row["design"] == "randomised-trial"
    assert row["risk_of_bias"] == "some-concerns" and row["year"] == 2020
    assert row["citation"] == "Smith et al. 2020"
    assert pd.isna(frame.loc["jones2019", "n"])
    assert str(frame["n"].dtype) == "Int64"


def test_outcomes_results_and_questions_frames(tmp_path):
    lib = load_library(make_evidence(tmp_path))
    outcomes = lib.outcomes_frame()
    assert len(outcomes) == 2
    assert outcomes.set_index(["study", "outcome"]).loc[("smith2020", "pain"), "results"] == 4

    results = lib.results_frame()
    assert len(results) == 5
    md = results.set_index("result").loc["pain-md-6w"]
    assert (md["measure"], md["estimate"], md["ci_low"], md["ci_high"]) == ("MD", -0.9, -1.8, 0.0)
    assert md["ci_asymmetry"] == pytest.approx(0.0, abs=1e-9)
    p = results.set_index("result").loc["pain-within-dn"]
    assert p["p_value"] == 0.001 and p["p_relation"] == "<" and math.isnan(p["estimate"])
    assert results["estimate"].dtype == "float64"

    arms = lib.arm_summaries_frame()
    assert list(arms["arm"]) == ["dn", "sham"]
    assert list(arms["role"]) == ["intervention", "comparator"]
    assert list(arms["sd"]) == [1.2, 1.5]

    questions = lib.questions_frame()
    assert list(questions.index) == ["pain-short-term", "safety"]
    assert questions.loc["pain-short-term", "studies"] == 2
    assert questions.loc["pain-short-term", "important_effect"] == 1.5


# ---------------------------------------------------------------------------------------------
# each validation rule, with its own broken example, its line and its field path


def _check(tmp_path, edits, rel, needle, field, says, occurrence=1, **kw):
    root = make_evidence(tmp_path, edits=edits, **kw)
    err = single_error(validate_evidence(root))
    assert err.file == f"{root.as_posix()}/{rel}"
    assert err.line == line_of(root / rel, needle, occurrence), str(err)
    assert err.field == field
    for fragment in says:
        assert fragment in err.message, err.message
    return err


def test_unknown_field_names_it_and_suggests_the_closest(tmp_path):
    _check(tmp_path, [(SMITH, "    ci_low: -1.8", "    ci_lwo: -1.8\n    ci_low: -1.8")],
           SMITH, "ci_lwo", "results[0].ci_lwo", ["unknown field 'ci_lwo'", "did you mean 'ci_low'"])


def test_unknown_field_synonym_suggestion(tmp_path):
    _check(tmp_path, [(SMITH, "sd: 1.2", "sd: 1.2, standard_deviation: 1.2")],
           SMITH, "standard_deviation", "results[1].arms[0].standard_deviation",
           ["did you mean 'sd'"])


def test_unknown_field_without_close_match_lists_the_valid_ones(tmp_path):
    _check(tmp_path, [(SMITH, "follow_up: 6 weeks", "follow_up: 6 weeks\nzzz: 1")],
           SMITH, "zzz:", "zzz", ["fields allowed here", "short_title"])


def test_missing_required_field(tmp_path):
    _check(tmp_path, [(SMITH, "short_title: Neck pain sham-controlled trial\n", "")],
           SMITH, "id: smith2020", "short_title", ["required field 'short_title' is missing"])


def test_literal_typo_suggests_the_valid_value(tmp_path):
    _check(tmp_path, [(SMITH, "design: randomised-trial", "design: randomized-trial")],
           SMITH, "design:", "design", ["did you mean 'randomised-trial'"])


def test_result_kind_typo(tmp_path):
    _check(tmp_path, [(SMITH, "kind: p-value", "kind: p_value")],
           SMITH, "kind: p_value", "results[2]", ["did you mean 'p-value'"])


@pytest.mark.parametrize("old,new,needle,field,says", [
    ("sd: 1.2", "sd: 0", "sd: 0", "results[1].arms[0].sd", ["greater than 0", "null"]),
    ("sd: 1.5", "sd: -1.5", "sd: -1.5", "results[1].arms[1].sd", ["greater than 0"]),
    ("  n: 40\n", "  n: 0\n", "  n: 0", "population.n", ["greater than 0", "count"]),
    ("n_analysed: 19", "n_analysed: -19", "n_analysed: -19", "arms[0].n_analysed",
     ["greater than 0"]),
    ("p_value: 0.001", "p_value: 1.5", "p_value: 1.5", "results[2].p_value",
     ["at most 1", "p_relation"]),
    ("p_value: 0.001", "p_value: -0.01", "p_value: -0.01", "results[2].p_value", ["at least 0"]),
    ("estimate: -0.9", "estimate: .nan", "estimate: .nan", "results[0].estimate",
     ["finite number", "null"]),
    ("mean: 3.1", "mean: .inf", "mean: .inf", "results[1].arms[0].mean", ["finite number"]),
    ("estimate: -0.9", "estimate: -2.5", "- kind: effect-estimate", "results[0]",
     ["outside its CI"]),
    ("ci_low: -1.8\n    ci_high: 0.0", "ci_low: 0.0\n    ci_high: -1.8", "- kind: effect-estimate",
     "results[0]", ["swap them"]),
    ("  n: 40\n", "  n: forty\n", "  n: forty", "population.n", ["whole number", "forty"]),
])
def test_impossible_and_wrong_values(tmp_path, old, new, needle, field, says):
    _check(tmp_path, [(SMITH, old, new)], SMITH, needle, field, says)


def test_ratio_measure_must_be_positive(tmp_path):
    _check(tmp_path, [("studies/lee2021.yaml", "measure: SMD\n    estimate: -0.5\n    ci_low: -0.8\n"
                       "    ci_high: -0.2", "measure: RR\n    estimate: -0.5\n    ci_low: -0.8\n"
                       "    ci_high: -0.2")],
           "studies/lee2021.yaml", "- kind: effect-estimate", "results[0]", ["must be > 0"])


def test_n_analysed_above_randomised(tmp_path):
    _check(tmp_path, [(SMITH, "n_analysed: 19", "n_analysed: 21")], SMITH, "- id: dn",
           "arms[0]", ["exceeds n_randomised"])


def test_number_without_provenance(tmp_path):
    _check(tmp_path, [(SMITH, "  provenance:\n    source: https://example.org/smith2020/abstract\n"
                       "    quote: Forty adults with chronic neck pain were randomised\n", "")],
           SMITH, "population:", "population", ["needs a provenance"])


def test_result_refers_to_unknown_outcome(tmp_path):
    _check(tmp_path, [(SMITH, "id: pain-within-dn\n    outcome: pain", "id: pain-within-dn\n    outcome: pian")],
           SMITH, "outcome: pian", "results[2].outcome", ["outcome 'pian'"])


def test_arm_summary_refers_to_unknown_arm(tmp_path):
    _check(tmp_path, [(SMITH, "{arm: sham, mean: 4.0", "{arm: shma, mean: 4.0")],
           SMITH, "arm: shma", "results[1].arms[1].arm", ["arm 'shma'"])


def test_duplicate_result_ids(tmp_path):
    _check(tmp_path, [(SMITH, "id: adverse-events", "id: pain-md-6w")],
           SMITH, "results:", "results", ["duplicate result id"])


def test_randomised_flag_contradicts_design(tmp_path):
    _check(tmp_path, [("studies/lee2021.yaml", "design: systematic-review",
                       "design: systematic-review\nrandomised: true")],
           "studies/lee2021.yaml", "randomised: true", "randomised", ["randomised is true"])


def test_file_name_must_match_id(tmp_path):
    _check(tmp_path, [("studies/jones2019.yaml", "id: jones2019", "id: jones2018")],
           "studies/jones2019.yaml", "id: jones2018", "id", ["does not match the file name",
                                                             "rename"])


def test_study_without_bibtex_entry(tmp_path):
    root = make_evidence(tmp_path, edits=[("references.bib", "@article{jones2019,",
                                           "@article{jones2019x,")])
    report = validate_evidence(root)
    problems = {(m.file.rsplit("/", 1)[-1], m.field) for m in report.errors}
    assert problems == {("jones2019.yaml", "id"), ("references.bib", "jones2019x")}
    by_file = {m.file.rsplit("/", 1)[-1]: m for m in report.errors}
    assert "has no entry in references.bib" in by_file["jones2019.yaml"].message
    assert "has no study file" in by_file["references.bib"].message
    assert by_file["references.bib"].line == line_of(root / "references.bib", "jones2019x")


def test_duplicate_bibtex_key(tmp_path):
    root = make_evidence(tmp_path)
    bib = root / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{jones2019,\n  title = {copy}\n}\n")
    err = single_error(validate_evidence(root))
    assert err.line == line_of(bib, "@article{jones2019,", 2)
    assert "duplicate BibTeX key 'jones2019'" in err.message
    assert f"first defined on line {line_of(bib, '@article{jones2019,')}" in err.message


def test_bibtex_block_that_cannot_be_parsed(tmp_path):
    root = make_evidence(tmp_path)
    bib = root / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{broken\n  title = {x}\n}\n")
    report = validate_evidence(root)
    err = report.errors[0]
    assert err.line == line_of(bib, "@article{broken")
    assert err.field == "broken"
    assert "could not be parsed" in err.message and "comma" in err.message


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path):
    _check(tmp_path, [(SMITH, "funding: university grant", "funding: university grant\n"
                       "funding: industry")], SMITH, "funding: industry", "funding",
           ["appears twice", "first on line"])


def test_link_target_must_resolve(tmp_path):
    _check(tmp_path, [(SMITH, "target: lee2021", "target: lee2012")], SMITH, "target: lee2012",
           "links[1].target", ["'lee2012' is not a study", "did you mean 'lee2021'"])


def test_link_to_itself(tmp_path):
    _check(tmp_path, [(SMITH, "target: lee2021", "target: smith2020")], SMITH,
           "target: smith2020", "links[1].target", ["links to itself"])


def test_question_cites_unknown_study(tmp_path):
    _check(tmp_path, [("questions.yaml", "- study: lee2021", "- study: lee2012")],
           "questions.yaml", "study: lee2012", "questions[0].evidence[1].study",
           ["'lee2012'", "did you mean 'lee2021'"])


def test_question_cites_unknown_result(tmp_path):
    _check(tmp_path, [("questions.yaml", "results: [adverse-events]", "results:\n          - adverse-event")],
           "questions.yaml", "- adverse-event", "questions[1].evidence[0].results[0]",
           ["no result 'adverse-event'", "did you mean 'adverse-events'"])


def test_duplicate_question_id(tmp_path):
    _check(tmp_path, [("questions.yaml", "- id: safety", "- id: pain-short-term")],
           "questions.yaml", "- id: pain-short-term", "questions[1].id", ["used twice"],
           occurrence=2)


def test_questions_file_top_level_typo(tmp_path):
    root = make_evidence(tmp_path, edits=[("questions.yaml", "questions:", "question:")])
    report = validate_evidence(root)
    fields = sorted(m.field for m in report.errors)
    assert fields == ["question", "questions"]
    typo = next(m for m in report.errors if m.field == "question")
    assert "did you mean 'questions'" in typo.message and typo.line == 1


def test_unsafe_yaml_tag_is_refused_without_running_it(tmp_path, monkeypatch):
    import os
    import subprocess

    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    sentinel = tmp_path / "pwned"
    _check(tmp_path, [(SMITH, "funding: university grant",
                       f"funding: !!python/object/apply:os.system ['touch {sentinel}']")],
           SMITH, "funding: !!python", "funding", ["!!python/object/apply:os.system", "not allowed"])
    assert calls == [] and not sentinel.exists()


def test_study_yml_extension_is_an_error(tmp_path):
    root = make_evidence(tmp_path)
    (root / "studies" / "jones2019.yaml").rename(root / "studies" / "jones2019.yml")
    report = validate_evidence(root)
    assert any(m.file.endswith("jones2019.yml") and "rename it to jones2019.yaml" in m.message
               for m in report.errors)


def test_other_files_in_studies_are_warned_about(tmp_path):
    root = make_evidence(tmp_path, files={"studies/notes.txt": "scratch",
                                          "studies/README.md": "how to"})
    report = validate_evidence(root)
    assert report.ok
    assert [m.file.rsplit("/", 1)[-1] for m in report.warnings] == ["notes.txt"]


def test_missing_references_and_studies(tmp_path):
    root = make_evidence(tmp_path, delete=["references.bib", "studies"])
    report = validate_evidence(root)
    shown = {m.file.rsplit("/", 1)[-1]: m.message for m in report.errors}
    assert "references.bib is missing" in shown["references.bib"]
    assert "no studies/ folder" in shown["studies"]


def test_file_over_the_size_limit(tmp_path):
    root = make_evidence(tmp_path)
    big = root / "studies" / "lee2021.yaml"
    with big.open("a") as fh:
        fh.write("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    err = single_error(validate_evidence(root))
    assert err.file.endswith("lee2021.yaml") and "MB" in err.message


# ---------------------------------------------------------------------------------------------
# warnings


def test_asymmetric_ci_is_warned_and_kept_as_printed(tmp_path):
    root = make_evidence(tmp_path, edits=[(SMITH, "estimate: -0.9\n    ci_low: -1.8\n    ci_high: 0.0",
                                           "estimate: -4.4\n    ci_low: -9.6\n    ci_high: -0.74"),
                                          (SMITH, "MD -0.9 (95% CI -1.8 to 0.0)",
                                           "MD -4.4 (95% CI -9.6 to -0.74)")])
    report = validate_evidence(root)
    assert report.ok
    (warning,) = report.warnings
    assert warning.field == "results[0]"
    assert warning.line == line_of(root / SMITH, "- kind: effect-estimate")
    assert "kept as printed; check the full text" in warning.message
    assert load_library(root).study("smith2020").result("pain-md-6w").ci_low == -9.6


def test_symmetric_ci_after_rounding_is_not_warned(tmp_path):
    # -0.95 (-1.8 to -0.1): the estimate sits 0.05/1.7 = 3 % of the width off centre.
    root = make_evidence(tmp_path, edits=[(SMITH, "estimate: -0.9\n    ci_low: -1.8\n    ci_high: 0.0",
                                           "estimate: -0.95\n    ci_low: -1.8\n    ci_high: -0.1")])
    assert validate_evidence(root).warnings == ()


def test_imputed_sd_is_warned(tmp_path):
    root = make_evidence(tmp_path, edits=[(SMITH, "sd: 1.5, n: 20}",
                                           "sd: 1.5, n: 20, sd_imputed: from the SE}")])
    (warning,) = validate_evidence(root).warnings
    assert warning.field == "results[1].arms[1].sd_imputed"
    assert "from the SE" in warning.message


def test_secondary_and_inferred_results_are_counted_in_one_warning(tmp_path):
    root = make_evidence(tmp_path, edits=[
        (SMITH, "quote: \"3.1 (1.2), n=19 vs 4.0 (1.5), n=20\"",
         "quote: \"3.1 (1.2), n=19 vs 4.0 (1.5), n=20\"\n      secondary: true\n"
         "      inference: which column is the needling arm")])
    (warning,) = validate_evidence(root).warnings
    assert warning.field == "results"
    assert "1 result(s) come from a secondary source (pain-arms-6w)" in warning.message
    assert "1 result(s) rest on the reviewers' inference" in warning.message


def test_missing_funding_and_conflicts_are_warned_unless_recorded_as_not_reported(tmp_path):
    root = make_evidence(tmp_path, edits=[(SMITH, "funding: university grant\n", ""),
                                          (SMITH, "conflicts: none declared\n", "conflicts: null\n")])
    warnings = validate_evidence(root).warnings
    assert sorted(w.field for w in warnings) == ["conflicts", "funding"]
    conflicts = next(w for w in warnings if w.field == "conflicts")
    assert conflicts.line == line_of(root / SMITH, "conflicts: null")
    # jones2019 records funding and conflicts under not_reported: no warning for it.
    assert not any("jones2019" in w.file for w in warnings)


# ---------------------------------------------------------------------------------------------
# round trip, schema, safety


def test_studies_round_trip_through_yaml(tmp_path):
    lib = load_library(make_evidence(tmp_path))
    for key, study in lib.studies.items():
        (tmp_path / "evidence" / "studies" / f"{key}.yaml").write_text(study_to_yaml(study),
                                                                      encoding="utf-8")
    again = load_library(tmp_path / "evidence")
    assert dict(again.studies) == dict(lib.studies)


def test_validate_does_not_modify_the_folder(tmp_path):
    root = make_evidence(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    validate_evidence(root)
    load_library(root)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert before == after


def test_committed_json_schema_is_fresh(tmp_path):
    committed = REPO / "evidence" / "study.schema.json"
    fresh = write_json_schema(tmp_path / "study.schema.json")
    assert committed.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "evidence/study.schema.json is stale: run python -c \"from evidencekit.evidence.library import "
        "write_json_schema; write_json_schema('evidence/study.schema.json')\"")
    schema = json.loads(fresh.read_text())
    assert schema["additionalProperties"] is False and "results" in schema["properties"]


def test_json_schema_accepts_the_fixture_and_rejects_a_typo(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(write_json_schema(tmp_path / "s.json").read_text())
    study = yaml.safe_load((BASE / SMITH).read_text())
    jsonschema.validate(study, schema)
    study["short_titel"] = study.pop("short_title")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(study, schema)


# ---------------------------------------------------------------------------------------------
# the bundled evidence (passes once the data specialist's evidence/ is complete)


def test_bundled_evidence_validates_with_provenance_and_warns_the_whiplash_ci():
    report = validate_evidence(REPO / "evidence")
    assert report.ok, "\n".join(map(str, report.errors))
    assert report.numbers > 0
    assert report.numbers == report.numbers_with_provenance
    asym = [w for w in report.warnings
            if w.file.endswith("sterling2015.yaml") and "not symmetric" in w.message
            and "-9.6 to -0.74" in w.message]
    assert len(asym) == 1 and asym[0].line is not None
