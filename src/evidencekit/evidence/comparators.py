"""Comparator kinds named in a reviewer's words: the text rules that read a kind from free text.

A comparator kind (:data:`~evidencekit.vocab.COMPARATOR_KINDS`) is part of a record; where a
reviewer gives only text (``evidencekit import --comparator "sham needling"``), these rules say
which kind the text names. The kind is then written into questions.yaml, where it can be corrected.
"""
from __future__ import annotations

__all__ = ["kind_from_text"]

_TEXT_RULES = (  # (words, kind) for text written by a reviewer (import --comparator)
    (("sham", "placebo", "dummy", "fake"), "sham-or-placebo"),
    (("waiting list", "wait list", "waitlist", "no treatment", "no intervention", "untreated",
      "no vaccine", "no vaccination", "nothing", "no therapy", "no exposure", "unexposed",
      "not exposed"), "no-treatment-or-waiting-list"),
    (("usual care", "standard care", "routine care", "usual treatment", "standard treatment",
      "conventional care", "general ward", "general medical ward", "routine"), "usual-care"),
    ((" plus ", " added to ", "add-on", " + ", " alone"), "add-on"),
)


def kind_from_text(text: str | None) -> str | None:
    """The comparator kind a reviewer's comparator text names, or None when it names none.

    Plain word rules (``sham`` -> sham-or-placebo, ``waiting list`` -> no treatment, ...); any
    other named comparator is an active treatment. Used where only text is given (``import
    --comparator``); the kind is written into questions.yaml, where a reviewer can correct it.
    """
    if not text or not text.strip():
        return None
    padded = f" {' '.join(text.lower().split())} "
    for words, kind in _TEXT_RULES:
        if any(w in padded for w in words):
            return kind
    return "active"
