"""The shared vocabularies, each defined once: measures, certainty, GRADE domains, comparators,
directions and audit verdicts.

Every module that needs one of these names imports it from here, so two stages can never drift
apart (a measure one stage analyses on the log scale and another on the natural scale, a certainty
level one stage knows and another does not). This module imports nothing from the package.
"""
from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "RATIO_MEASURES", "PROPORTION_MEASURES", "SINGLE_GROUP_MEASURES", "CERTAINTY_LEVELS",
    "CERTAINTY_ORDER", "NO_EVIDENCE", "Certainty", "DOWN_DOMAINS", "UP_DOMAINS", "DOMAIN_JSON_KEYS",
    "DOMAIN_NAMES", "ComparatorKind", "COMPARATOR_KINDS", "Direction", "DIRECTIONS", "Verdict",
    "VERDICTS", "VERDICT_REPORT_ORDER",
]

# --- measures -----------------------------------------------------------------------------------

#: Ratio measures: analysed on the log scale and shown on the natural scale, with no effect at 1
#: (metafor's escalc log-transforms RR, OR, ROM and IRR; a printed hazard ratio is handled the
#: same way, Cochrane Handbook 6.3.2).
RATIO_MEASURES = frozenset({"RR", "OR", "HR", "ROM", "IRR"})

#: Single-group proportions in their metafor codings: raw (PR), logit (PLO), log (PLN),
#: Freeman-Tukey double arcsine (PFT) and arcsine square root (PAS).
PROPORTION_MEASURES = frozenset({"PR", "PLO", "PLN", "PFT", "PAS"})

#: Every single-group measure: proportions, means (MN, MNLN) and incidence rates (IR, IRLN). A
#: pooled single-group measure describes how often or how much, never a difference between groups.
SINGLE_GROUP_MEASURES = PROPORTION_MEASURES | frozenset({"MN", "MNLN", "IR", "IRLN"})

# --- certainty (GRADE) --------------------------------------------------------------------------

#: GRADE's four levels, weakest first, so that the index is the strength (GRADE Handbook 5.2).
CERTAINTY_LEVELS = ("very low", "low", "moderate", "high")

#: The certainty of a comparison no study answers: GRADE gives it no level, and it is printed so
#: that a question without studies is never read as a finding.
NO_EVIDENCE = "no evidence"

#: Every certainty a claim can carry, most certain first (the order outputs list them in).
CERTAINTY_ORDER = tuple(reversed(CERTAINTY_LEVELS)) + (NO_EVIDENCE,)

Certainty = Literal["high", "moderate", "low", "very low", "no evidence"]

#: GRADE's five reasons to rate down (Guyatt 2011, GRADE 4-8): a step of 0, -1 or -2.
DOWN_DOMAINS = ("risk-of-bias", "inconsistency", "indirectness", "imprecision", "publication-bias")

#: The reasons to rate up that apply to a body of evidence (GRADE 9): a step of 0, +1 or +2.
UP_DOMAINS = ("large-effect", "dose-response")

#: The JSON names of the five rating-down domains (DESIGN.md, the claims contract).
DOMAIN_JSON_KEYS = {d: d.replace("-", "_") for d in DOWN_DOMAINS}

#: The domains' names for people, in the order of the GRADE Handbook (section 5.2).
DOMAIN_NAMES = {
    "risk_of_bias": "Risk of bias", "inconsistency": "Inconsistency",
    "indirectness": "Indirectness", "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
}

# --- comparisons --------------------------------------------------------------------------------

#: What the intervention is compared with, as a GRADE evidence profile separates comparisons.
#: Results from different kinds are never pooled or counted together (docs/claims.md).
ComparatorKind = Literal[
    "sham-or-placebo",               # an inactive imitation of the intervention
    "no-treatment-or-waiting-list",  # nothing, or the intervention later
    "usual-care",                    # the care people would get anyway
    "active",                        # another active treatment, named in ``comparator``
    "add-on",                        # intervention + B versus B alone
    "none",                          # single-arm evidence (case series, harms surveys)
]
COMPARATOR_KINDS: tuple[str, ...] = get_args(ComparatorKind)

#: What a result says about the intervention, read in the outcome's "better" direction: "harm"
#: means the comparator did better on this outcome (for an adverse-events outcome: more harms).
Direction = Literal["benefit", "harm", "no-difference", "mixed", "unclear"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)

# --- audit --------------------------------------------------------------------------------------

#: An audit finding's verdict on one sentence of a patient page (DESIGN.md, the audit contract).
Verdict = Literal["contradicted", "mechanism-as-fact", "overstated", "unsupported", "supported"]
VERDICTS: tuple[str, ...] = get_args(Verdict)

#: The order reports list the verdicts in: each verdict once, from fine to the worst kind of
#: problem (a mechanism stated as fact misleads about why a treatment would work at all).
VERDICT_REPORT_ORDER = ("supported", "overstated", "unsupported", "contradicted", "mechanism-as-fact")
