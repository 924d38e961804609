"""The size of an effect in everyday words: points on a scale, SMD sizes, and absolute numbers.

Each sentence is hedged like the claim ("probably", "may"); at very low certainty no size is given,
because the estimate itself is not trusted. Ratios become numbers of people per 100 or 1000 at the
median comparator risk of the included trials, as a summary-of-findings table gives them.

Notes
-----
Cochrane Handbook v6.4 15.4.4 (absolute effects from RR and OR) and 15.5 (re-expressing SMDs;
Cohen's 0.2/0.5/0.8 rule of thumb, 15.5.3.1); Santesso 2020 (GRADE 26) on hedging the size.
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from ..vocab import PROPORTION_MEASURES, RATIO_MEASURES
from .estimate import EffectSummary, estimate_text
from .ladder import max_strength
from .rating import CertaintyRating
from .wording import Wording

if TYPE_CHECKING:
    from ..evidence.records import Question

__all__ = ["count_per", "number_and_noun", "size_words", "threshold_is_judgement"]


def _number(x: float) -> str:
    x = abs(x)
    if x >= 10:
        return f"{x:.0f}"
    if x >= 2:
        return f"{round(x):.0f}"
    return f"{x:.1f}".rstrip("0").rstrip(".")


def number_and_noun(number: str | int, singular: str, plural: str | None = None) -> str:
    """``"1 point"``, ``"1.5 points"``, ``"4 points"``: the noun agrees with the number as printed."""
    text = str(number)
    return f"{text} {singular if text == '1' else plural or singular + 's'}"


_SMD_WORDS = ((0.8, "large"), (0.5, "moderate"), (0.2, "small"))


def threshold_is_judgement(question: Question) -> bool:
    """Whether the question's important-effect threshold is our own judgement."""
    ie = getattr(question, "important_effect", None)
    return bool(ie is not None and ie.author_judgement)


def size_words(rating: CertaintyRating, question: Question, words: Wording | None = None,
               comparator: str | None = None) -> tuple[str | None, str | None]:
    """(plain sentence hedged to the certainty, technical line) for the main estimate.

    GRADE 26 gives the size with the same hedge as the statement ("probably", "may"); at very low
    certainty it gives no size, because the estimate itself is not trusted.
    """
    m = rating.main
    if m is None:
        v = rating.votes or {}
        return None, (f"vote count on direction: {dict(v)}" if v else None)
    tech = (estimate_text(m.estimate, m.ci_low, m.ci_high, measure=m.measure, digits=".3g")
            + f", {m.source}: {', '.join(m.records)}"
            + ("" if m.threshold is None else
               f"; important effect {math.exp(m.threshold):.3g}" if m.measure in RATIO_MEASURES else
               f"; important effect {m.threshold:g}"
               + (" (author judgement)" if threshold_is_judgement(question) else ""))
            + ("" if m.scale_stated else "; scale not stated, not compared with the threshold"))
    strength = max_strength(rating.level)
    if strength == 0:
        return None, tech
    verb = {3: "was", 2: "is probably", 1: "may be"}[strength]
    if m.measure == "MD":
        degrees = (m.scale or "").startswith("deg")
        label = {"pain": "pain", "disability": "disability"}.get(m.domain or "", "")
        rng = re.search(r"0\s*[-–]\s*\d+", m.scale or "")
        if not m.scale_stated:
            # A bare "MD -2.31" from a review abstract: a number of points means nothing without
            # the scale (2 points is a lot on 0-10 and little on 0-100), so no size is given.
            return (f"The {label + ' ' if label else ''}scale used was not stated, so the size "
                    "of the difference is unknown."), tech
        if rng:
            # The claim's first sentence names the outcome; the range is what the number needs.
            # (Leaving out "disability"/"pain" here keeps the claim at grade 8.)
            on = f" on a {rng.group(0)} scale"
        else:
            on = ""
        if rng or degrees or not m.scale:
            amount = number_and_noun(_number(m.estimate), "degree" if degrees else "point")
        else:  # a unit named by the scale itself ("days in hospital")
            amount, on = f"{_number(m.estimate)} {m.scale}", ""
        plain = f"The difference {verb} about {amount}{on}."
        if m.threshold is not None and abs(m.benefit) < m.threshold:
            small = {3: "That is", 2: "That is probably", 1: "That may be"}[strength]
            plain += f" {small} too small to matter."
        return plain, tech
    if m.measure == "SMD":
        size = next((w for cut, w in _SMD_WORDS if abs(m.benefit) >= cut), "very small")
        return f"The average effect {verb} {size} in size.", tech
    if m.measure in PROPORTION_MEASURES:
        return None, tech  # the statement itself gives "about N in 100"
    if m.measure in ("RR", "OR") and words is not None:
        return _absolute_words(m, question, strength, words, comparator), tech
    if m.measure in ("RR", "OR", "HR", "IRR"):
        return _relative_words(m.estimate, verb), tech
    return None, tech


def count_per(value: float, per: int) -> str:
    """A risk as a count per ``per`` people, rounded as a summary-of-findings table rounds."""
    x = value * per
    return f"{x:.0f}" if x >= 1 or x == 0 else "fewer than 1"


def _relative_words(ratio: float, verb: str) -> str:
    """"about half as many", "about a third fewer", "about 1.5 times as many"."""
    if 0.4 <= ratio <= 0.6:
        share = "about half as many"
    elif ratio < 1:
        share = f"about {100 * (1 - ratio):.0f}% fewer"
    else:
        share = f"about {ratio:.1f} times as many"
    there = {"was": "There were", "is probably": "There are probably",
             "may be": "There may be"}.get(verb, "There were")
    return f"{there} {share} cases."


def _risk_with(control: float, ratio: float, measure: str) -> float:
    """Risk with the intervention from the comparator risk and a pooled RR or OR.

    Notes
    -----
    RR: control x RR; OR: control x OR / (1 - control + control x OR) (Cochrane Handbook
    15.4.4, GRADE summary-of-findings tables; Guyatt 2013, GRADE 12).
    """
    if measure == "OR":
        return control * ratio / (1 - control + control * ratio)
    return min(1.0, control * ratio)


def _absolute_words(m: EffectSummary, question: Question, strength: int, words: Wording,
                    comparator: str | None) -> str:
    """Absolute numbers per 100 or 1000 at the median comparator risk of the included trials."""
    verb = {3: "was", 2: "is probably", 1: "may be"}[strength]
    cr = m.control_risk
    if cr is None:
        rel = _relative_words(m.estimate, verb)
        return rel
    per = 100 if cr >= 0.1 else 1000
    treated = _risk_with(cr, m.estimate, m.measure)
    lo = _risk_with(cr, m.ci_low, m.measure) if m.ci_low is not None else None
    hi = _risk_with(cr, m.ci_high, m.measure) if m.ci_high is not None else None
    text = words("absolute_effect", comparator=comparator or "the comparison",
                 control=count_per(cr, per), per=per, outcome=question.outcome.strip(), verb=verb,
                 treated=count_per(treated, per))
    if lo is not None and hi is not None:
        text = text.rstrip(".") + f" (95% CI {count_per(lo, per)} to {count_per(hi, per)} in {per})."
    return text
