"""A small, valid evidence folder made at test time, for the render and build tests.

Two studies (a sham-controlled randomised trial with reported effect estimates, and a case series with
a narrative result), their BibTeX entries and two review questions. ``inject`` puts a string (e.g. a
``<script>`` tag) into a BibTeX title, a study's short title, a caveat, a quote and a question title,
so the escaping tests can follow it to every output.
"""
from __future__ import annotations

from pathlib import Path

BIB = """\
@article{trial2020,
  author  = {Smith, Anna B. and Jones, Carl},
  title   = {Dry needling versus sham needling for neck pain: a randomised trial{INJECT_BIB}},
  journal = {Pain Res J},
  year    = {2020},
  volume  = {10},
  number  = {2},
  pages   = {100--110},
  doi     = {10.1000/prj.2020.1},
  url     = {https://example.org/trial2020}
}

@article{cases2019,
  author  = {Brown, Dora},
  title   = {Dry needling in four athletes: case reports},
  journal = {Sports Med Rep},
  year    = {2019},
  volume  = {3},
  pages   = {1--5},
  url     = {https://example.org/cases2019}
}
"""

TRIAL = """\
id: trial2020
short_title: Neck pain trial{INJECT_YAML}
design: randomised-trial
randomised: true
population:
  description: Adults with neck pain and trigger points
  n: 60
  characteristics: {trigger-points: active}
  provenance:
    source: https://example.org/trial2020
    quote: "Sixty adults with neck pain were randomised"
arms:
  - id: dn
    label: Dry needling
    role: intervention
    intervention: dry needling, 3 sessions
    n_randomised: 30
    provenance:
      source: https://example.org/trial2020
      quote: "dry needling (n = 30)"
  - id: sham
    label: Sham needling
    role: comparator
    intervention: sham needling, 3 sessions
    sham: true
    n_randomised: 30
    provenance:
      source: https://example.org/trial2020
      quote: "sham needling (n = 30)"
outcomes:
  - id: pain
    domain: pain
    instrument: Pain score
    scale: 0-10
    better: lower
    time_points: [4 weeks]
results:
  - id: pain-4wk
    kind: effect-estimate
    outcome: pain
    time_point: 4 weeks
    contrast: between-groups
    comparison: dry needling vs sham needling
    measure: MD
    estimate: -1.0
    ci_low: -2.0
    ci_high: 0.0
    direction: benefit
    clinically_important: false
    provenance:
      source: https://example.org/trial2020
      quote: "mean difference -1.0 (95% CI -2.0 to 0.0){INJECT_YAML}"
follow_up: 4 weeks
risk_of_bias:
  tool: RoB 2 (abstract only)
  overall: some-concerns
  reason: Allocation concealment is not described.
  domains:
    - name: Randomisation process
      judgement: some-concerns
      reason: Concealment not described.
    - name: Missing outcome data
      judgement: low
      reason: All followed up.
caveats:
  - kind: small-sample
    text: Only 60 people took part in this trial.{INJECT_YAML}
  - kind: short-follow-up
    text: People were followed for only four weeks.
not_reported:
  - item: side effects
    note: not in the abstract
"""

CASES = """\
id: cases2019
short_title: Athlete case reports
design: case-series
population:
  description: Four athletes with shoulder pain
  n: 4
  provenance:
    source: https://example.org/cases2019
    quote: "four athletes"
outcomes:
  - id: pain
    domain: pain
    better: lower
results:
  - id: pain-after
    kind: narrative
    outcome: pain
    time_point: after treatment
    contrast: within-group
    direction: benefit
    statement: All scores were better after treatment.
    provenance:
      source: https://example.org/cases2019
      quote: "All scores were improved post-treatment"
risk_of_bias:
  tool: not applicable
  overall: high
  reason: No comparison group.
caveats:
  - kind: no-control
    text: There was no comparison group, so we cannot tell what caused the change.
"""

QUESTIONS = """\
questions:
  - id: neck-pain
    title: Neck pain in the weeks after treatment{INJECT_YAML}
    population: adults with neck pain
    intervention: dry needling
    comparator: sham needling
    outcome: neck pain
    outcome_domains: [pain]
    time_window: over a few weeks
    important_effect:
      value: 1.5
      scale: points on a 0-10 pain scale
      author_judgement: true
    kind: benefit
    evidence:
      - study: trial2020
        results: [pain-4wk]
    topics: [neck pain]
  - id: athletes
    title: Athletes during competition
    population: athletes
    intervention: dry needling
    comparator: no treatment
    outcome: shoulder pain
    outcome_domains: [pain]
    time_window: during a season
    kind: benefit
    evidence:
      - study: cases2019
        indirect: elite athletes, not typical patients
    topics: [athletes]
"""


def _yaml_scalar(text: str) -> str:
    # Put injected text inside YAML safely: it goes in as part of a plain or quoted scalar.
    return text.replace("\\", "\\\\").replace('"', '\\"')


def make_evidence(root: Path, inject: str = "") -> Path:
    """Write the fixture evidence folder under ``root`` and return its path."""
    ev = root / "evidence"
    (ev / "studies").mkdir(parents=True, exist_ok=True)
    yaml_inject = f" {inject}" if inject else ""
    bib_inject = f" {inject}" if inject else ""

    def fill(text: str) -> str:
        return text.replace("{INJECT_YAML}", yaml_inject).replace("{INJECT_BIB}", bib_inject)

    (ev / "references.bib").write_text(fill(BIB), encoding="utf-8")
    (ev / "studies" / "trial2020.yaml").write_text(fill(TRIAL), encoding="utf-8")
    (ev / "studies" / "cases2019.yaml").write_text(fill(CASES), encoding="utf-8")
    (ev / "questions.yaml").write_text(fill(QUESTIONS), encoding="utf-8")
    return ev
