"""The patient leaflet: short, plain, benefits and harms side by side, every number sourced.

What a leaflet holds, in order (after IPDAS 2005 and the NHS and Cochrane plain-language guides):
what the treatment is; the key messages, one line per claim, the most certain first, benefits and
harms side by side, each naming what the treatment was compared with; what to keep in mind (each
caveat once, with the most certain claim it bears on); how often side effects happen, as natural
frequencies where the evidence counts them; who should not have it or should ask first; other
options (the active treatments the studies compared it with); questions to ask; the certainty
levels; who wrote it, their conflicts and the dates; the references.

Everything topic-specific comes from the evidence folder: the review settings
(:func:`evidencekit.outputs.presentation.review_settings`), the questions and the study records. The
detail a clinician needs (each study's caveats, effects and domains, forest plots) is in the
clinician summary (:mod:`evidencekit.outputs.clinician`), not here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from ..errors import InputError
from .presentation import (
    CERTAINTY_WORDS, ReviewSettings, certainty_of, claim_comparator,
    claims_by_importance, group_caveats, jargon_in, normalised,
    reference_numbers, review_settings, word_count,
)
from .leaflet_sections import (
    Frequency, claim_group, other_options, questions_to_ask, side_effect_frequencies)
from .templating import html_env, md_env, reference_list, version

__all__ = ["LEAFLET_WORD_LIMIT", "LeafletModel", "leaflet_model", "fitted_leaflet_model", "render_leaflet", "other_options",
           "side_effect_frequencies", "leaflet_reference_numbers"]

#: Words before the references. Cochrane plain-language summaries allow 850 words and NHS
#: leaflets run to about two printed pages; 1,200 leaves room for a review with many questions.
LEAFLET_WORD_LIMIT = 1200


class Comparator(NamedTuple):
    """One comparison a key-message line speaks for: the comparator in words and its studies."""

    text: str
    citations: tuple[int, ...]
    contrary: tuple[int, ...]
    #: a single-group study (a survey of treated people): nothing was compared, and the line
    #: says so instead of "compared with <the treatment itself>"
    single_group: bool = False


class Caveat(NamedTuple):
    """A caveat said once, under the message where it matters most (its most certain claim).

    ``applies_to`` holds the numbers of every key message it bears on (the first is ``home``);
    the leaflet names the others ("also messages 4 and 8"), so one sentence serves them all.
    """

    text: str
    applies_to: tuple[int, ...]
    #: for a message that holds several comparisons, the ones this caveat is about ("9: compared
    #: with a sham or placebo"); empty when it is about all of them
    partial: tuple[str, ...] = ()
    home: int = 0

    @property
    def also(self) -> tuple[int, ...]:
        """The other messages it bears on, besides the one it is printed under."""
        return tuple(n for n in self.applies_to if n != self.home)


class KeyMessage(NamedTuple):
    """One key message: a finding and every comparison of one question it holds for.

    Comparisons of one question whose claims read the same at the same certainty (after the
    sentence naming the comparator) share one message, so a review with many comparisons does
    not repeat a sentence per comparison.
    """

    question: str
    comparators: tuple[Comparator, ...]
    claim: str
    certainty: str
    label: str
    number: int  # the message's number in the leaflet, counted across all questions
    caveats: tuple[Caveat, ...] = ()  # the caveats printed under this message
    outcome: str = ""  # the question's title without its comparison ("Pain after one session")

    @property
    def known(self) -> bool:
        """True for a finding (high, moderate or low certainty): it is a key message with its
        sentence; very-low and no-evidence messages go in the "What we do not know" list."""
        return self.certainty not in _UNKNOWN


class QuestionBlock(NamedTuple):
    question: str
    anchor: str
    title: str
    lines: tuple[KeyMessage, ...]
    caveats: tuple[Caveat, ...]
    group: str  # "benefit", "harm" or "other"


class Group(NamedTuple):
    """One column of the key messages: the findings, then what we do not know."""

    name: str  # "benefit", "harm" or "other"
    known: tuple[KeyMessage, ...]
    unknown: tuple[KeyMessage, ...]


class JargonWarning(NamedTuple):
    """A caveat from the evidence folder's own text that uses a word patients should not meet.

    The caveat stays in the leaflet (a caveat is never dropped); the build and ``validate`` name
    the file and field so its author can reword it.
    """

    question: str
    text: str
    words: tuple[str, ...]
    file: str
    field: str


_GROUP_ORDER = ("benefit", "harm", "other")
#: GRADE's very-low wording ("The evidence is very uncertain about the effect of X on Y.").
_VERY_UNCERTAIN_ABOUT = re.compile(r"^The evidence is very uncertain about the effect of [^.]*\.")


def _anchor(qid: str) -> str:
    return "q-" + re.sub(r"[^a-z0-9-]+", "-", str(qid).lower()).strip("-")


def leaflet_reference_numbers(claims: Any, library: Any) -> dict[str, int]:
    """The leaflet's reference numbers: first citation order in the key messages (most certain first).

    The citation summary lists its studies in this order, so a number in the leaflet finds its
    entry there.
    """
    ordered = claims_by_importance(tuple(getattr(claims, "claims", claims)))
    # Studies considered but not counted are the clinician summary's, not the leaflet's.
    return reference_numbers(ordered, library.references, considered=False)


def _lower_first(title: str) -> str:
    # "Pain relief" -> "pain relief" inside a sentence; an acronym ("NHS ...") stays as it is.
    title = " ".join(str(title).split()).rstrip(".?!:")
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def _without_comparator_sentence(text: str, comparator: str) -> str:
    """The claim without its "The studies compared it with ..." sentence: the line names it."""
    if not comparator:
        return text
    pattern = re.compile(r"(?:^|(?<=[.!?])\s+)The studies compared it with "
                         + re.escape(comparator) + r"\.(?=\s|$)", re.I)
    return " ".join(pattern.sub("", text).split())


_QUESTION_WORDS = re.compile(r"^(?:how (?:many|much|often|long|soon|well|safe)|what|which|who|"
                             r"when|why|where|does|do|is|are|can|should|will)\b", re.I)


def _question_title(claim: Any, library: Any) -> str:
    """The question's own title ("Pain right after one session"), without a comparison."""
    question = getattr(library, "questions", {}).get(claim.question)
    return " ".join(str(getattr(question, "title", "") or claim.title.split(":")[0]).split())


def _as_question(title: str) -> str:
    """A heading that asks: "What about pain relief?"; a title that is a question keeps its words.

    A heading that only names an outcome ("Pain relief") would read as a claim that it happens.
    """
    title = title.rstrip(" .?!:")
    if _QUESTION_WORDS.match(title):
        return title + "?"
    return f"What about {_lower_first(title)}?"


def _jargon_warning(claim: Any, text: str, words: list[str], library: Any) -> JargonWarning:
    # Name where the words came from, so the author can reword them there.
    question = getattr(library, "questions", {}).get(claim.question)
    for index, ev in enumerate(getattr(question, "evidence", ())):
        own = str(getattr(ev, "indirect", "") or "").strip().rstrip(".")
        if own and normalised(own) in normalised(text):
            return JargonWarning(claim.question, text, tuple(words), "questions.yaml",
                                 f"{claim.question}.evidence[{index}].indirect")
    for study in getattr(library, "studies", {}).values():
        if any(normalised(c.text) == normalised(text) for c in getattr(study, "caveats", ())):
            return JargonWarning(claim.question, text, tuple(words),
                                 f"studies/{study.id}.yaml", "caveats")
    return JargonWarning(claim.question, text, tuple(words), "review.yaml", "wording")


@dataclass(frozen=True)
class LeafletModel:
    """Everything both leaflet templates show (see the module docstring), as typed values.

    Attributes
    ----------
    settings
        The review's own words (:class:`~evidencekit.outputs.presentation.ReviewSettings`).
    groups
        Benefits, harms and other questions, each with its findings (``known``) and the
        very-low and no-evidence comparisons (``unknown``).
    blocks
        The same messages by question, the question with the most certain finding first; each
        block holds the caveats said under its messages.
    unknowns
        How "What we do not know" is printed: ``"full"``, ``"brief"`` or ``"referred"`` (see
        :func:`leaflet_model`).
    referred_caveats
        With ``"referred"``: the caveats that bear only on the comparisons left to the
        clinician summary (they are there, under each comparison).
    """

    settings: ReviewSettings
    title: str
    groups: tuple[Group, ...]
    blocks: tuple[QuestionBlock, ...]
    frequencies: tuple[Frequency, ...]
    options: tuple[str, ...]
    questions_to_ask: tuple[str, ...]
    certainty_words: Mapping[str, tuple[str, str]]
    references: tuple[Any, ...]
    jargon_warnings: tuple[JargonWarning, ...]
    version: str
    unknowns: str = "full"
    referred_caveats: tuple[str, ...] = ()

    def group(self, name: str) -> Group:
        """The group ``"benefit"``, ``"harm"`` or ``"other"`` (empty when it has no message)."""
        for g in self.groups:
            if g.name == name:
                return g
        return Group(name, (), ())

    @property
    def messages(self) -> tuple[KeyMessage, ...]:
        """Every message in the order the leaflet numbers them."""
        return tuple(sorted((m for b in self.blocks for m in b.lines), key=lambda m: m.number))

    def summary(self) -> str:
        known = sum(m.known for m in self.messages)
        return (f"Leaflet '{self.title}': {len(self.messages)} key messages ({known} findings, "
                f"{len(self.messages) - known} we do not know), "
                f"{sum(len(b.caveats) for b in self.blocks)} caveats, "
                f"{len(self.references)} references")

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"number": m.number, "question": m.question,
                              "compared with": "; ".join(c.text for c in m.comparators),
                              "certainty": m.certainty, "claim": m.claim,
                              "caveats": len(m.caveats)} for m in self.messages]
                            ).set_index("number")

    def context(self) -> dict[str, Any]:
        """The fields and groups by name, as the templates read them."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(benefit=self.group("benefit"), harm=self.group("harm"),
                      other=self.group("other"))
        return values


#: how claims name the comparison of a single-group study ("<treatment> (no comparison group)")
_SINGLE_GROUP = "(no comparison group)"
_UNKNOWN = frozenset({"very low", "no evidence"})
#: The forms of "What we do not know", fullest first.
_UNKNOWN_FORMS = ("full", "brief", "referred")
_COMPARISON_IN_TITLE = re.compile(r",?\s+(?:compared with|versus|vs\.?)\s.*$", re.I)


def leaflet_model(claims: Any, library: Any, *, title: str | None = None,
                  unknowns: str = "full") -> LeafletModel:
    """Everything both leaflet templates show, as a frozen :class:`LeafletModel`.

    The key messages are numbered benefits first, then harms, then other questions; within each,
    the question with the most certain finding first. Each question has one message per
    finding: the comparisons whose claims read the same at the same certainty share it, each
    comparator named with its own references. Very-low and no-evidence messages form each
    group's "What we do not know" list. The caveats about the evidence as a whole (not one
    study's: those are in the clinician summary) are each said once, under the most certain
    message they bear on, naming the other messages they apply to.

    ``unknowns`` says how much of "What we do not know" is printed: ``"full"`` (each message
    with its sentence), ``"brief"`` (outcome, comparator and references) or ``"referred"`` (only
    how many there are; they are in the clinician summary with their caveats). A caveat that
    bears on a finding is printed with it whatever the form; :func:`render_leaflet` picks the
    fullest form that fits :data:`LEAFLET_WORD_LIMIT`.
    """
    if unknowns not in _UNKNOWN_FORMS:
        raise ValueError(f"unknowns must be one of {', '.join(_UNKNOWN_FORMS)}, got {unknowns!r}")
    referred = unknowns == "referred"
    items = tuple(getattr(claims, "claims", claims))
    settings = review_settings(library, title=title)
    for claim in items:
        if certainty_of(claim) not in CERTAINTY_WORDS:
            raise InputError(f"claim for question '{claim.question}' has certainty "
                             f"{claim.certainty!r}; expected one of {', '.join(CERTAINTY_WORDS)}")
    ordered = claims_by_importance(items)
    numbers = leaflet_reference_numbers(ordered, library)
    by_question: dict[str, list[Any]] = {}
    for claim in ordered:
        by_question.setdefault(claim.question, []).append(claim)
    comparator_of = {id(c): claim_comparator(c, library) for c in ordered}

    # One line per finding: comparisons of a question whose claims read the same share it.
    lines_of: dict[str, list[KeyMessage]] = {}
    line_of_claim: dict[int, tuple[str, int]] = {}
    for qid, claims_here in by_question.items():
        lines: list[KeyMessage] = lines_of.setdefault(qid, [])
        index: dict[tuple, int] = {}
        outcome = _COMPARISON_IN_TITLE.sub("", _question_title(claims_here[0], library)).strip()
        for claim in claims_here:
            comparator = comparator_of[id(claim)]
            level = certainty_of(claim)
            text = _without_comparator_sentence(" ".join(str(claim.claim).split()), comparator)
            # The line names the outcome and says "very low certainty": GRADE's "The evidence is
            # very uncertain about the effect of X on Y." would say both again. The plain
            # sentence that follows it ("We do not know if it helps.") stays.
            shorter = _VERY_UNCERTAIN_ABOUT.sub("", text, count=1).strip()
            if level == "very low" and shorter:
                text = shorter
            entry = Comparator(
                comparator or "what the studies do not say",
                tuple(sorted({numbers[k] for k in claim.citations})),
                tuple(sorted({numbers[k] for k in getattr(claim, "contrary_citations", ())})),
                normalised(comparator).endswith(_SINGLE_GROUP))
            # Comparisons share a line only when they also share every caveat: a caveat then
            # never reads as if it were about a comparison it is not about.
            general, _ = group_caveats(claim, library)
            key = (normalised(text), level, frozenset(normalised(t) for t in general))
            if key in index:
                old = lines[index[key]]
                lines[index[key]] = old._replace(comparators=(*old.comparators, entry))
            else:
                index[key] = len(lines)
                lines.append(KeyMessage(qid, (entry,), text, level, CERTAINTY_WORDS[level][0], 0,
                                        outcome=outcome))
            line_of_claim[id(claim)] = (qid, index[key])
    # Numbered in the order the leaflet shows them: per group, the findings, then what we do not
    # know; so a caveat can name the messages it applies to in a few characters.
    shown = sorted(by_question, key=lambda q: _GROUP_ORDER.index(claim_group(by_question[q][0])))
    number_of: dict[tuple[str, int], int] = {}
    for group in _GROUP_ORDER:
        for known in (True, False):
            for qid in shown:
                if claim_group(by_question[qid][0]) != group:
                    continue
                for i, line in enumerate(lines_of[qid]):
                    if line.known == known and (known or not referred):
                        number_of[(qid, i)] = len(number_of) + 1
                        lines_of[qid][i] = line._replace(number=len(number_of))

    # Each caveat once, under the most certain message that carries it; it names the others.
    carriers: dict[str, list[Any]] = {}
    first_text: dict[str, str] = {}
    for claim in ordered:
        general, _ = group_caveats(claim, library)
        for text in general:
            key = normalised(text)
            first_text.setdefault(key, text)
            if claim not in carriers.setdefault(key, []):
                carriers[key].append(claim)
    warnings: list[JargonWarning] = []
    caveats_of: dict[str, list[Caveat]] = {}
    under: dict[tuple[str, int], list[Caveat]] = {}
    referred_caveats: list[str] = []
    for key, holders in carriers.items():
        if referred:  # said with the findings it bears on; the rest are in the clinician summary
            holders = [c for c in holders if line_of_claim[id(c)] in number_of]
            if not holders:
                referred_caveats.append(first_text[key])
                continue
        home = holders[0]
        text = first_text[key]
        words = jargon_in(text)
        if words:
            warnings.append(_jargon_warning(home, text, words, library))
        home_line = line_of_claim[id(home)]
        applies = tuple(sorted({number_of[line_of_claim[id(c)]] for c in holders}))
        # A line that holds several comparisons, of which the caveat concerns only some: name
        # them, so a caveat is never read against a comparison it is not about.
        partial: list[str] = []
        for n in applies:
            members = [c for c in ordered if number_of.get(line_of_claim[id(c)]) == n]
            mine = [c for c in members if c in holders]
            if len(mine) < len(members):
                partial.append(f"{n}: " + " or ".join(comparator_of[id(c)] for c in mine))
        caveat = Caveat(text, applies, tuple(partial), number_of[home_line])
        caveats_of.setdefault(home.question, []).append(caveat)
        under.setdefault(home_line, []).append(caveat)
    for (qid, i), said in under.items():
        lines_of[qid][i] = lines_of[qid][i]._replace(caveats=tuple(said))

    blocks = tuple(QuestionBlock(qid, _anchor(qid),
                                 _as_question(_question_title(by_question[qid][0], library)),
                                 tuple(lines_of[qid]), tuple(caveats_of.get(qid, ())),
                                 claim_group(by_question[qid][0])) for qid in shown)
    every = sorted((m for b in blocks for m in b.lines), key=lambda m: m.number)
    groups = tuple(Group(g, tuple(m for m in every if _group_of_line(blocks, m) == g and m.known),
                         tuple(m for m in every if _group_of_line(blocks, m) == g
                               and not m.known))
                   for g in _GROUP_ORDER)
    return LeafletModel(
        settings=settings, title=settings.title,
        groups=tuple(g for g in groups if g.known or g.unknown), blocks=blocks,
        frequencies=side_effect_frequencies(ordered, library, numbers),
        options=other_options(ordered, library, settings),
        questions_to_ask=questions_to_ask(settings),
        certainty_words=CERTAINTY_WORDS,
        references=tuple(reference_list(numbers, library.references)),
        jargon_warnings=tuple(warnings), version=version(), unknowns=unknowns,
        referred_caveats=tuple(referred_caveats))


def _group_of_line(blocks: Sequence[QuestionBlock], message: KeyMessage) -> str:
    return next(b.group for b in blocks if b.question == message.question)


def render_leaflet(claims: Any, library: Any, fmt: str = "html", *,
                   title: str | None = None) -> str:
    """Render the patient leaflet.

    Parameters
    ----------
    claims
        A :class:`~evidencekit.grade.claims.ClaimSet` (or a sequence of claims).
    library
        The library the claims came from (references, studies, questions, review settings).
    fmt
        ``"html"`` (self-contained, escaped, no network loads) or ``"md"``.
    title
        The leaflet's heading; default: the review settings' title.

    Returns
    -------
    str

    Raises
    ------
    InputError
        When a claim cites a key that is not in the references, or has an unknown certainty.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"fmt must be 'html' or 'md', got {fmt!r}")
    return _render(fitted_leaflet_model(claims, library, title=title), fmt)


def fitted_leaflet_model(claims: Any, library: Any, *, title: str | None = None) -> LeafletModel:
    """The leaflet model in the fullest form of "What we do not know" that fits the word limit.

    First every message with its sentence; then the very-low and no-evidence messages as short
    lines (outcome, comparator, references, caveats); last, only how many there are, with a
    pointer to the clinician summary, which has each of them with its caveats. Every caveat that
    bears on a finding stays in the leaflet in every form. When even the last form is too long,
    it is used anyway: a caveat is never dropped to meet a word count.
    """
    for form in _UNKNOWN_FORMS:
        model = leaflet_model(claims, library, title=title, unknowns=form)
        if word_count(_body(_render(model, "md"))) <= LEAFLET_WORD_LIMIT:
            return model
    return model


def _body(md: str) -> str:
    return md.split("\n## References", 1)[0]


def _render(model: LeafletModel, fmt: str) -> str:
    env = md_env() if fmt == "md" else html_env()
    return env.get_template(f"leaflet.{fmt}.j2").render(**model.context())
