"""How hard claim text is to read: the Flesch-Kincaid grade, and the build's gate on it."""
from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = ["READABILITY_TARGET", "READABILITY_LIMIT", "Readability", "reading_grade",
           "claim_readability", "claims_of"]

#: Claim and caveat text should read at US school grade 8 or below (Flesch-Kincaid). Health-literacy
#: guidance for patient material (e.g. NIH/AMA plain-language advice) asks for grade 6-8.
READABILITY_TARGET = 8.0
#: Above this grade a question's text fails the build: text this hard loses many readers, so it is
#: rewritten (in claims.py or the records), never shipped. Between target and limit: a warning.
READABILITY_LIMIT = 10.0



def claims_of(claims: Any) -> tuple[Any, ...]:
    return tuple(getattr(claims, "claims", claims))




class Readability(NamedTuple):
    """How hard one question's claim and caveats are to read.

    ``status`` is ``"ok"`` (grade <= target), ``"above target"`` (target < grade <= limit: a warning)
    or ``"too hard"`` (grade > limit: the build fails).
    """

    question: str
    title: str
    grade: float
    status: str

    def to_dict(self) -> dict:
        return self._asdict()


_WORD_RE = re.compile(r"[^\w\s']")


def reading_grade(text: str) -> float:
    """US school grade needed to read ``text`` (Flesch-Kincaid), rounded to 0.1.

    Parameters
    ----------
    text
        Plain text, one or more sentences.

    Returns
    -------
    float
        The grade; 0.0 for text without words.

    Notes
    -----
    Flesch-Kincaid grade = 0.39 (words / sentences) + 11.8 (syllables / words) - 15.59
    (Kincaid JP et al., 1975, Research Branch Report 8-75, Naval Technical Training Command).

    Sentences are counted by ``textstat.sentence_count``; words and syllables as textstat counts them
    when it has no pronouncing dictionary: punctuation except apostrophes removed, syllables from the
    pyphen en_US hyphenation dictionary (hyphenation points + 1). textstat >= 0.7.4's
    ``flesch_kincaid_grade`` first tries to *download* NLTK's CMU dictionary at run time for English;
    that is a network load during a build, fails offline, and gives different grades on machines
    with and without the dictionary. Counting here keeps the grade offline and identical everywhere.
    ``tests/test_render.py`` checks the result equals textstat's own formula on its pyphen path.
    """
    import pyphen
    import textstat

    words = _WORD_RE.sub("", text).lower().split()
    if not words:
        return 0.0
    sentences = max(1, textstat.sentence_count(text))
    dic = pyphen.Pyphen(lang="en_US")
    syllables = sum(len(dic.positions(word)) + 1 for word in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return round(grade, 1)


def _sentence(text: str) -> str:
    # A caveat without a full stop would run into the next one and count as one long sentence.
    text = " ".join(str(text).split())
    return text if not text or text[-1] in ".!?" else text + "."


def claim_readability(claim: Any) -> Readability:
    """Grade the text a reader sees for one question: the claim and all its caveats.

    Parameters
    ----------
    claim
        A :class:`evidencekit.grade.claims.Claim` (``question``, ``title``, ``claim``, ``caveats``).
    """
    text = " ".join(_sentence(t) for t in (claim.claim, *claim.caveats) if str(t).strip())
    grade = reading_grade(text)
    if grade > READABILITY_LIMIT:
        status = "too hard"
    elif grade > READABILITY_TARGET:
        status = "above target"
    else:
        status = "ok"
    return Readability(claim.question, claim.title, grade, status)


