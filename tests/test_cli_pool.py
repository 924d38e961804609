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


# --- every feature of issue 15 through `pool --format json`, against metafor -----------------

from _metafor_models import case_effects, section  # noqa: E402

EXTENDED = {c["name"]: c for c in json.loads(
    (Path(__file__).parent / "data" / "metafor-escalc-extended.json").read_text())["cases"]}
#: The project's promise for the CLI: every printed value equals metafor's to 1e-5 relative.
CLI_RTOL = 1e-5
FIT_KEYS = ("estimate", "se", "ci_low", "ci_high", "z", "p", "tau2", "i2", "h2", "q", "q_p",
            "pi_low", "pi_high")


def _csv(tmp_path, columns, name="data.csv"):
    path = tmp_path / name
    frame = pd.DataFrame(columns)
    frame.to_csv(path, index=False)
    return path


def _pool_json(capsys, path, *args):
    code = main(["pool", str(path), *args, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def _close(actual, expected):
    assert actual == pytest.approx(expected, rel=CLI_RTOL, abs=1e-12)


@pytest.mark.parametrize("name", sorted(EXTENDED))
def test_new_measures_pool_like_metafor(tmp_path, capsys, name):
    case = EXTENDED[name]
    columns = {k: v for k, v in case["inputs"].items() if k in
               {"ai", "bi", "ci", "di", "n1i", "n2i", "xi", "ni", "ri", "x1i", "t1i", "x2i",
                "t2i", "ti"}}
    out, err = _pool_json(capsys, _csv(tmp_path, columns), "--measure", case["measure"])
    ref = case["rma_reml"]
    assert out["k"] == ref["k"] and out["measure"] == case["measure"]
    for key in FIT_KEYS:
        _close(out[key], ref[key])
    if ref["k"] < len(case["yi"]):  # rows with an empty cell: dropped, with a warning
        assert "warning" in err


@pytest.mark.parametrize("name", sorted(section("mh")) + sorted(section("peto")))
def test_mh_and_peto_through_the_cli(tmp_path, capsys, name):
    case = {**section("mh"), **section("peto")}[name]
    method = "PETO" if name in section("peto") else "MH"
    columns = {k: v for k, v in case["inputs"].items() if k in
               {"trial", "ai", "bi", "ci", "di", "n1i", "n2i"}}
    out, _ = _pool_json(capsys, _csv(tmp_path, columns), "--measure", case["measure"],
                        "--method", method)
    assert out["method"] == method and out["k"] == case["k"] and out["tau2"] == 0
    for key in ("estimate", "se", "ci_low", "ci_high", "z", "p", "q", "q_p", "i2", "h2"):
        _close(out[key], case[key])
    assert [s["weight"] for s in out["studies"]] == pytest.approx(case["weights"], rel=CLI_RTOL)


@pytest.mark.parametrize("name", ["bcg_RR_by_alloc_REML", "bcg_RR_by_alloc_REML_knha",
                                  "bangertdrowns2004_by_grade_REML"])
def test_subgroups_through_the_cli(tmp_path, capsys, name):
    case = section("subgroups")[name]
    inp = case["inputs"]
    if case["measure"] == "RR":
        columns = {k: inp[k] for k in ("ai", "bi", "ci", "di", "alloc")}
        args = ["--measure", "RR", "--subgroup", "alloc"]
    else:
        columns = {k: inp[k] for k in ("yi", "vi", "grade")}
        args = ["--measure", "GEN", "--subgroup", "grade"]
    out, _ = _pool_json(capsys, _csv(tmp_path, columns), *args, "--ci", case["ci"])
    for key in FIT_KEYS[:-2]:
        if key in case["overall"]:
            _close(out[key], case["overall"][key])
    assert [s["level"] for s in out["subgroups"]] == [str(s["level"]) for s in case["subgroups"]]
    for ours, ref in zip(out["subgroups"], case["subgroups"]):
        assert ours["k"] == ref["k"]
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2"):
            _close(ours[key], ref[key])
    _close(out["q_between"], case["q_between"])
    _close(out["q_between_p"], case["q_between_p"])


@pytest.mark.parametrize("name", ["bcg_RR_ablat_year_REML", "bcg_RR_ablat_year_REML_knha",
                                  "bangertdrowns2004_length_imag_REML"])
def test_meta_regression_through_the_cli(tmp_path, capsys, name):
    case = section("metareg")[name]
    inp = case["inputs"]
    data_cols = ("ai", "bi", "ci", "di") if case["measure"] == "RR" else ("yi", "vi")
    columns = {k: inp[k] for k in data_cols + tuple(case["moderators"])}
    args = ["--measure", case["measure"], "--ci", case["ci"]]
    for m in case["moderators"]:
        args += ["--moderator", m]
    out, err = _pool_json(capsys, _csv(tmp_path, columns), *args)
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt"] + case["moderators"]
    for ours, ref in zip(out["coefficients"], case["coefficients"]):
        for key in ("estimate", "se", "ci_low", "ci_high", "p"):
            _close(ours[key], ref[key])
    for key in ("qm", "qm_p", "r2"):
        _close(out[key], case[key])
    _close(out["residual"]["tau2"], case["tau2"])
    _close(out["residual"]["i2"], case["i2"])
    if case["k"] < len(inp[data_cols[0]]):
        assert "left out of the meta-regression" in err


@pytest.mark.parametrize("name", ["bcg_RR_REML", "hackshaw1998_OR_REML", "molloy2014_ZCOR_DL"])
def test_bias_through_the_cli(tmp_path, capsys, name):
    egger, tf = section("egger")[name], section("trimfill")[name]
    path = _csv(tmp_path, {"yi": egger["yi"], "vi": egger["vi"]})
    out, _ = _pool_json(capsys, path, "--measure", "GEN", "--method", egger["method"], "--bias")
    _close(out["egger"]["z"], egger["z"])
    _close(out["egger"]["p"], egger["p"])
    assert "regtest" in out["egger"]["model"] and egger["method"] in out["egger"]["model"]
    assert (out["trim_and_fill"]["k0"], out["trim_and_fill"]["side"]) == (tf["k0"], tf["side"])
    _close(out["trim_and_fill"]["estimate"], tf["estimate"])
    _close(out["trim_and_fill"]["se"], tf["se"])


@pytest.mark.parametrize("content, args, match", [
    ("yi,vi,g\n0.1,0.1,a\n0.2,0.1,b\n", ["--subgroup", "grp"], "does not have"),
    ("yi,vi,x\n0.1,0.1,1\n0.2,0.1,two\n0.3,0.1,3\n", ["--moderator", "x"], "non-number"),
    ("yi,vi\n0.1,0.1\n0.2,0.1\n", ["--method", "MH"], "pools OR, RR or RD"),
    ("yi,vi\n0.1,0.1\n0.2,0.1\n", ["--method", "MH", "--measure", "OR"], "2x2 tables"),
    ("ai,bi,ci,di\n1,9,2,8\n", ["--method", "PETO", "--measure", "RR"], "--measure OR"),
    ("ai,bi,ci,di\n1,9,2,8\n", ["--method", "MH", "--bias", "--measure", "OR"], "inverse-variance"),
    ("yi,vi\n0.1,0.1\n0.2,0.1\n", ["--bias"], "at least 3"),
    ("ai,bi,ci,di\n1,9,2,8\n", ["--method", "MH", "--measure", "OR", "--ci", "hksj"], "Wald"),
])
def test_new_flags_fail_clearly(tmp_path, capsys, content, args, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    if "--measure" not in args:
        args = ["--measure", "GEN", *args]
    assert main(["pool", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


# --- issue 17: iterations always end; a non-finite fit is an error, never "NA" with exit 0 -----

@pytest.mark.parametrize("rows", [
    "1e150,1e-150\n-1e150,1e-150\n0,1e150\n",   # REML/ML step halving looped for ever
    "1e308,0.1\n-1e308,0.2\n0.5,0.1\n",          # estimate NA, exit 0, thousands of warnings
])
@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM", "DL", "FE", "SJ"])
def test_data_beyond_floating_point_end_with_one_clear_error(tmp_path, capsys, rows, method):
    import time

    path = tmp_path / "edge.csv"
    path.write_text("yi,vi\n" + rows)
    start = time.monotonic()
    code = main(["pool", str(path), "--measure", "GEN", "--method", method])
    assert time.monotonic() - start < 15
    captured = capsys.readouterr()
    assert code == 2
    assert "floating point" in captured.err and "rescale" in captured.err
    assert captured.err.count("\n") == 1  # one message, no warning spam
    assert "Traceback" not in captured.err and captured.out == ""
