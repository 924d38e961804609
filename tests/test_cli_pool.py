"""`evidencekit pool` through evidencekit.cli.main."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evidencekit.cli import main

REFERENCE = json.loads((Path(__file__).parent / "data" / "metafor-reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}
ITERATIVE_RTOL = 1e-6  # REML, as in test_pooling.py


@pytest.fixture
def normand_csv(tmp_path):
    inp = CASES["normand1999_MD"]["inputs"]
    frame = pd.DataFrame({k: inp[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
    frame.insert(0, "study", inp["source"])
    path = tmp_path / "normand.csv"
    frame.to_csv(path, index=False)
    return path


def test_pool_json_contract(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "SMD", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    contract = ["k", "measure", "method", "estimate", "se", "ci_low", "ci_high", "z", "p",
                "tau2", "i2", "h2", "q", "q_p", "pi_low", "pi_high"]
    # the contract's keys first, in order; then every default named (DESIGN.md allows more keys)
    assert list(out) == contract + ["level", "ci_method", "df", "pi_method", "pi_df",
                                    "tau2_ci_low", "tau2_ci_high", "tau2_ci_method",
                                    "converged", "fallback", "notes", "studies"]
    ref = CASES["normand1999_SMD"]["results"]["REML"]
    assert out["k"] == 9 and out["method"] == "REML" and out["measure"] == "SMD"
    assert out["tau2"] == pytest.approx(ref["tau2"], rel=ITERATIVE_RTOL)
    assert out["i2"] == pytest.approx(ref["I2"], rel=ITERATIVE_RTOL)
    assert len(out["studies"]) == 9
    assert out["level"] == 95 and out["ci_method"] == "wald"
    assert out["df"] is None and out["pi_df"] is None  # normal quantiles: no df (NaN -> null)
    assert out["pi_method"] == "metafor: normal quantile, sqrt(se² + tau²) (metafor default)"
    qp = CASES["normand1999_SMD"]["results"]["REML_tau2_ci_qprofile"]
    assert out["tau2_ci_method"] == "Q-profile"
    assert out["tau2_ci_low"] == pytest.approx(qp["tau2_low"], rel=ITERATIVE_RTOL)
    assert out["tau2_ci_high"] == pytest.approx(qp["tau2_high"], rel=ITERATIVE_RTOL)
    assert out["notes"] == [] and out["converged"] is True and out["fallback"] is False


def test_pool_json_hksj_z_is_metafor_t(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "SMD", "--ci", "hksj", "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = CASES["normand1999_SMD"]["results"]["REML"]["hksj"]
    assert out["ci_method"] == "hksj" and out["df"] == ref["df"] == 8 and out["pi_df"] == 8
    assert out["z"] == pytest.approx(ref["t"], rel=ITERATIVE_RTOL)
    assert out["p"] == pytest.approx(ref["p"], rel=ITERATIVE_RTOL)


def test_pool_json_k1_says_what_cannot_be_estimated(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("yi,vi\n0.4,0.04\n")
    assert main(["pool", str(path), "--measure", "GEN", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["k"] == 1 and out["estimate"] == 0.4
    for key in ("tau2", "i2", "h2", "q_p", "pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"):
        assert out[key] is None, key
    assert any(n.startswith("k = 1") for n in out["notes"])


def test_pool_text_names_defaults(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "MD", "--method", "DL",
                 "--ci", "hksj"]) == 0
    text = capsys.readouterr().out
    assert "DerSimonian-Laird" in text and "Hartung-Knapp" in text and "prediction interval" in text


def test_gen_measure(tmp_path, capsys):
    case = CASES["bcg_RR"]
    path = tmp_path / "gen.csv"
    pd.DataFrame({"yi": case["yi"], "vi": case["vi"]}).to_csv(path, index=False)
    assert main(["pool", str(path), "--measure", "GEN", "--method", "PM", "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tau2"] == pytest.approx(case["results"]["PM"]["tau2"], rel=ITERATIVE_RTOL)


def test_missing_row_warns_on_stderr(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("study,yi,vi\nA,0.1,0.02\nB,,0.03\nC,0.4,0.05\n")
    assert main(["pool", str(path), "--measure", "GEN"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "B" in err


@pytest.mark.parametrize("content, args, match", [
    ("m1i,sd1i\n1,2\n", ["--measure", "MD"], "missing column"),
    ("yi,vi\n0.1,abc\n", ["--measure", "GEN"], "non-number"),
    ("yi,vi\n0.1,-0.2\n0.2,0.1\n", ["--measure", "GEN"], "positive"),
    ("yi,vi\n0.1,0.2\n", ["--measure", "XX"], "unknown measure"),
    ("yi,vi\n0.1,0.2\n", ["--measure", "GEN", "--method", "BAD"], "unknown method"),
    ("", ["--measure", "GEN"], "cannot read"),
])
def test_bad_input_exits_2_without_traceback(tmp_path, capsys, content, args, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["pool", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_file_not_found(capsys, tmp_path):
    assert main(["pool", str(tmp_path / "nope.csv"), "--measure", "GEN"]) == 2
    assert "not found" in capsys.readouterr().err


# --- the CSV reader: each broken file names the file, the line and the fix ------------------------

@pytest.mark.parametrize("content, line, match", [
    # pandas would make the first cell an index and shift the row left: 0.02 pooled as yi
    ("yi,vi\n0.1,0.02,9\n0.2,0.03\n", 2, "line has 3 value(s) but the header names 2"),
    ("yi,vi\n0.1,0.02\n0.2\n", 3, "missing or extra comma"),
    ("yi,vi,yi\n0.1,0.02,0.3\n", 1, "column 'yi' appears twice"),
    ("yi;vi\n0.1;0.02\n", 1, "separated by semicolons"),
    ("yi\tvi\n0.1\t0.02\n", 1, "separated by tabs"),
    ("yi,vi\n0.1,0.02\n\n0.3,x\n", 4, "non-number 'x'; write the number alone"),
])
def test_malformed_csv_names_the_line_and_the_fix(tmp_path, capsys, content, line, match):
    path = tmp_path / "my data.csv"
    path.write_text(content)
    assert main(["pool", str(path), "--measure", "GEN"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}" in err and match in err and "Traceback" not in err


@pytest.mark.parametrize("content, match", [
    (b"", "the file is empty; the first line names the columns"),
    (b"yi,vi\n", "header but no rows of data"),
    (b"yi,vi\n\x00\x01\x02,3\n", "binary file"),
    ("yi,vi\n0.1,caf\u00e9\n".encode("cp1252"), "not UTF-8 text"),
])
def test_unusable_csv_says_what_to_do(tmp_path, capsys, content, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert main(["pool", str(path), "--measure", "GEN"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and match in err and "Traceback" not in err


def test_folder_instead_of_csv(tmp_path, capsys):
    assert main(["pool", str(tmp_path), "--measure", "GEN"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: error: cannot read as CSV: this is a folder" in err


def test_missing_column_lists_the_columns_found(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("study,mean1,sd1i\nA,1,2\n")
    assert main(["pool", str(path), "--measure", "MD"]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) m1i" in err and "the file has: study, mean1, sd1i" in err


def test_trailing_commas_bom_and_quoted_labels_are_read(tmp_path, capsys):
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbfstudy,yi,vi,\n"Smith, 2001",0.1,0.02,\n"Lee, 2003",0.3,0.04,\n')
    assert main(["pool", str(path), "--measure", "GEN", "--method", "FE"]) == 0
    captured = capsys.readouterr()
    assert "Meta-analysis of 2 studies" in captured.out and captured.err == ""


def test_unknown_options_name_the_option_not_the_file(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "XYZ"]) == 2
    err = capsys.readouterr().err
    assert "[--measure]: error: unknown measure 'XYZ'" in err and "<input>" not in err
    assert main(["pool", str(normand_csv), "--measure", "MD", "--method", "FOO"]) == 2
    err = capsys.readouterr().err
    assert "[--method]: error: unknown method 'FOO'" in err and "default: REML" in err


def test_options_are_case_insensitive(normand_csv, capsys):
    assert main(["pool", str(normand_csv), "--measure", "smd", "--method", "reml",
                 "--ci", "HKSJ", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["measure"] == "SMD" and out["method"] == "REML" and out["ci_method"] == "hksj"


def test_no_usable_study_names_the_file(tmp_path, capsys):
    path = tmp_path / "empty-rows.csv"
    path.write_text("yi,vi\n,0.1\n0.2,\n")
    assert main(["pool", str(path), "--measure", "GEN"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: error: no studies to pool (k = 0)" in err and "fill them in" in err


def test_k1_text_output_has_no_stray_percent(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("yi,vi\n0.4,0.04\n")
    assert main(["pool", str(path), "--measure", "GEN"]) == 0
    assert "I² = NA," in capsys.readouterr().out
