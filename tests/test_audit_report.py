"""The audit report's outputs: one verdict order, and the HTML template shipped as package data."""
from __future__ import annotations

from importlib import resources

from evidencekit.audit.report import REPORT_ORDER, TEMPLATE, AuditReport, Finding
from evidencekit.vocab import VERDICTS


def test_report_order_lists_every_verdict_once():
    assert sorted(REPORT_ORDER) == sorted(VERDICTS) and len(set(REPORT_ORDER)) == len(VERDICTS)
    assert list(AuditReport(text="", findings=()).counts()) == list(REPORT_ORDER)


def test_html_template_is_package_data():
    template = resources.files("evidencekit").joinpath("templates", TEMPLATE)
    assert template.is_file()
    assert "{{ f.reason }}" in template.read_text(encoding="utf-8")


def test_html_escapes_every_value_it_renders():
    hostile = '<img src=x onerror="alert(1)">'
    finding = Finding(start=0, end=len(hostile), text=hostile, verdict="overstated",
                      reason=f"reason {hostile}", suggestion=f"say {hostile}",
                      evidence=(f"study#{hostile}",))
    report = AuditReport(text=hostile + " & more", findings=(finding,))
    out = report.to_html(title=f"Audit of {hostile}")
    assert "<img" not in out and "onerror=\"" not in out
    assert out.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") >= 6
    assert "&amp; more" in out and out.endswith("</html>\n")
