"""The review's topic knowledge for the audit, read from the evidence folder.

What a page's words mean *for this review* lives with the review, never in the code: the
treatment's names (to tell a sentence about the treatment from one about something else), which
question answers which topic words, the questions that play a role (safety, sessions, mechanism, the
question a claim without a named outcome is judged by), comparators and what the evidence found
about them, this treatment's mechanism phrases, and outcomes no question covers. It is the file
``audit-topics.yaml`` of the evidence folder (docs/audit.md, "Topic file"), checked by
:func:`validate_topics`, which ``evidencekit validate`` runs.

A folder without the file still works: :func:`load_topics` derives what it can from
``questions.yaml`` (each question's ``topics`` and ``kind``) and ``review.yaml`` (the intervention's
names).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import InputError, Message
from ..io import read_text
from .lexicon import Phrases, gap_regex, phrase_regex

__all__ = ["TOPIC_FILE", "UNSTUDIED", "COMPARATOR_FINDINGS", "Comparator", "Topics", "load_topics",
           "validate_topics", "topics_from_claims"]

TOPIC_FILE = "audit-topics.yaml"
#: The pseudo-question of outcomes no question covers: a benefit for them is ``unsupported``.
UNSTUDIED = "outcomes-not-studied"
#: What the evidence found when the treatment was compared with a comparator.
COMPARATOR_FINDINGS = ("no-difference", "comparator-better", "no-evidence", "benefit")
_ROLES = ("generic", "safety", "sessions", "mechanism")
_KNOWN = {"version", "treatment", "names", "roles", "topics", "requires", "ignore_topics",
          "precedence", "mechanism", "procedure", "outcomes_not_studied", "comparators"}
_COMPARATOR_KEYS = {"id", "name", "words", "finding", "evidence", "says", "suggestion"}


@dataclass(frozen=True)
class Comparator:
    """A treatment a page may say the reviewed one beats, and what the evidence found.

    ``phrases`` match a superiority cue of the lexicon followed by one of the comparator's words
    ("works better than stretching"); ``finding`` is one of :data:`COMPARATOR_FINDINGS`;
    ``evidence`` the records (``study#result``) that say so.
    """

    id: str
    name: str
    finding: str
    evidence: tuple[str, ...]
    says: str
    suggestion: str
    phrases: Phrases


@dataclass(frozen=True)
class Topics:
    """The topic knowledge the judge uses (see the module docstring). Build with :func:`load_topics`.

    Attributes
    ----------
    source
        Where it came from, for messages: the evidence folder as given.
    treatment
        The treatment's name as a sentence subject ("cold-water immersion"), used in reasons.
    names
        Phrases naming the treatment; empty means subject detection is off (claims only).
    questions
        Topic phrases per question id (and :data:`UNSTUDIED`).
    requires
        Per question, phrases one of which must be present for the question to apply (a question
        about one population: "pregnant women"). A general word never routes a sentence to it.
    titles
        Question titles, for reasons written for the page's author.
    roles
        ``generic``, ``safety``, ``sessions``, ``mechanism`` -> question id (or absent).
    """

    source: str
    treatment: str
    names: Phrases
    questions: Mapping[str, Phrases]
    requires: Mapping[str, Phrases]
    titles: Mapping[str, str]
    roles: Mapping[str, str]
    precedence: Mapping[str, tuple[str, ...]]
    mechanism: Phrases
    procedure: Phrases
    comparators: tuple[Comparator, ...] = ()
    derived: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def role(self, name: str) -> str | None:
        return self.roles.get(name)

    def groups(self) -> list[Phrases]:
        """Every phrase group, for the lexicon's first-word index."""
        return ([self.names, self.mechanism, self.procedure] + list(self.questions.values())
                + list(self.requires.values()) + [c.phrases for c in self.comparators])


# ---------------------------------------------------------------------------------------------
# reading the evidence folder


def _read_yaml_text(path: Path) -> tuple[Any, str, Message | None]:
    """The file's YAML and its text, or the problem: read as every input is (:mod:`evidencekit.io`:
    a regular file, bounded, UTF-8 checked over the whole content)."""
    try:
        text = read_text(path, kind="evidence file")
    except InputError as exc:
        return None, "", Message(str(path), exc.line, None, exc.message)
    try:
        return yaml.safe_load(text), text, None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, text, Message(str(path), mark.line + 1 if mark else None, None,
                                   f"not valid YAML: {getattr(exc, 'problem', exc)}")


def _read_yaml(path: Path) -> tuple[Any, Message | None]:
    data, _text, err = _read_yaml_text(path)
    return data, err


def _questions(folder: Path) -> list[dict]:
    data, err = _read_yaml(folder / "questions.yaml") if (folder / "questions.yaml").is_file() \
        else (None, None)
    if err or not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return []
    return [q for q in data["questions"] if isinstance(q, dict) and isinstance(q.get("id"), str)]


def _known_results(folder: Path) -> set[str] | None:
    """``study#result`` ids in ``studies/*.yaml`` (None when the folder has no studies/)."""
    studies = folder / "studies"
    if not studies.is_dir():
        return None
    known: set[str] = set()
    for path in sorted(studies.glob("*.yaml")):
        data, err = _read_yaml(path)
        if err or not isinstance(data, dict):
            continue
        sid = data.get("id") or path.stem
        known.add(str(sid))
        for r in data.get("results") or ():
            if isinstance(r, dict) and r.get("id"):
                known.add(f"{sid}#{r['id']}")
    return known


def _review_names(folder: Path, questions: list[dict]) -> list[str]:
    """The intervention's names: review.yaml's ``intervention_subject`` and ``intervention``, else
    each question's ``intervention``."""
    names: list[str] = []
    review = folder / "review.yaml"
    if review.is_file():
        data, err = _read_yaml(review)
        if not err and isinstance(data, dict):
            for key in ("intervention_subject", "intervention"):
                if isinstance(data.get(key), str) and data[key].strip():
                    names.append(data[key].strip())
    names += [q["intervention"].strip() for q in questions
              if isinstance(q.get("intervention"), str) and q["intervention"].strip()]
    return list(dict.fromkeys(names))


def _line_of(text: str, target: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if target and target in line:
            return i
    return None


class _Collector:
    """Messages about the topic file, each with the file as shown, a line where one is found."""

    def __init__(self, file: str, text: str):
        self.file, self.text, self.messages = file, text, []

    def error(self, fld: str, message: str, near: str | None = None) -> None:
        self.messages.append(Message(self.file, _line_of(self.text, near or fld.split(".")[-1]
                                                         .split("[")[0]), fld, message))


def _phrase_list(value: Any, fld: str, out: _Collector) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        out.error(fld, "must be a list of phrases (strings)")
        return []
    return [str(v) for v in value if str(v).strip()]


def _compile(phrases: list[str], fld: str, file: str, out: _Collector) -> Phrases:
    good = []
    for i, p in enumerate(phrases):
        try:
            Phrases([p], f"{fld}[{i}]", file)
        except InputError as exc:
            out.error(f"{fld}[{i}]", f"{exc.message}; see docs/audit.md for the phrase syntax",
                      near=p[:40])
            continue
        good.append(p)
    return Phrases(good, fld, file)


def _parse(folder: Path, shown: str, lexicon: Any) -> tuple[Topics, list[Message]]:
    """The folder's topics and every problem found (the topic file's, or none when derived)."""
    questions = _questions(folder)
    qids = {q["id"]: q for q in questions}
    path = folder / TOPIC_FILE
    file = str(Path(shown) / TOPIC_FILE)
    if not (path.exists() or path.is_symlink()):
        return _derived(shown, questions, _review_names(folder, questions)), []
    # anything by that name is read, so a pipe, a folder or a broken link is an error, not ignored
    data, text, err = _read_yaml_text(path)
    out = _Collector(file, text)
    if err:
        return _derived(shown, questions, _review_names(folder, questions)), [
            Message(file, err.line, err.field, err.message)]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        out.error("", "must be a YAML mapping of sections (see docs/audit.md, 'Topic file')")
        return _derived(shown, questions, _review_names(folder, questions)), out.messages
    for key in sorted(set(map(str, data)) - _KNOWN):
        out.error(key, f"unknown section {key!r}; known: {', '.join(sorted(_KNOWN))}")

    def check_id(qid: Any, fld: str, allow_unstudied: bool = False) -> bool:
        if not isinstance(qid, str):
            out.error(fld, "must be a question id (a string)")
            return False
        if qids and qid not in qids and not (allow_unstudied and qid == UNSTUDIED):
            out.error(fld, f"no question {qid!r} in questions.yaml; the ids are: "
                           f"{', '.join(sorted(qids))}", near=qid)
            return False
        return True

    names = _phrase_list(data.get("names"), "names", out)
    names += _review_names(folder, questions)
    treatment = data.get("treatment")
    if treatment is not None and not isinstance(treatment, str):
        out.error("treatment", "must be the treatment's name as a sentence subject (a string)")
        treatment = None
    roles_raw = data.get("roles") or {}
    roles: dict[str, str] = {}
    if not isinstance(roles_raw, dict):
        out.error("roles", f"must map a role ({', '.join(_ROLES)}) to a question id")
    else:
        for role, qid in roles_raw.items():
            if role not in _ROLES:
                out.error(f"roles.{role}", f"unknown role {role!r}; roles are {', '.join(_ROLES)}")
            elif check_id(qid, f"roles.{role}"):
                roles[role] = qid
    for q in questions:  # a question's kind gives its role unless the file names one
        role = {"harm": "safety", "dose": "sessions", "mechanism": "mechanism"}.get(q.get("kind"))
        if role and role not in roles:
            roles[role] = q["id"]
    if "generic" not in roles:
        first = next((q["id"] for q in questions if q.get("kind", "benefit") == "benefit"), None)
        if first:
            roles["generic"] = first

    def mapping(key: str, what: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            out.error(key, f"must map question ids to {what}")
            return {}
        return value

    merged: dict[str, list[str]] = {q["id"]: [str(t) for t in q.get("topics") or ()
                                              if isinstance(t, (str, int, float))]
                                    for q in questions}
    for qid, phrases in mapping("topics", "lists of phrases").items():
        if check_id(qid, f"topics.{qid}", allow_unstudied=True):
            merged.setdefault(qid, []).extend(_phrase_list(phrases, f"topics.{qid}", out))
    unstudied = _phrase_list(data.get("outcomes_not_studied"), "outcomes_not_studied", out)
    if unstudied:
        merged.setdefault(UNSTUDIED, []).extend(unstudied)
    for qid, phrases in mapping("ignore_topics", "lists of phrases").items():
        if check_id(qid, f"ignore_topics.{qid}"):
            drop = {p.lower() for p in _phrase_list(phrases, f"ignore_topics.{qid}", out)}
            merged[qid] = [p for p in merged.get(qid, []) if p.lower() not in drop]
    requires = {}
    for qid, phrases in mapping("requires", "lists of phrases").items():
        if check_id(qid, f"requires.{qid}"):
            requires[qid] = _compile(_phrase_list(phrases, f"requires.{qid}", out),
                                     f"requires.{qid}", file, out)
    precedence = {}
    for qid, dropped in mapping("precedence", "the ids they override").items():
        if check_id(qid, f"precedence.{qid}"):
            ids = _phrase_list(dropped, f"precedence.{qid}", out)
            precedence[qid] = tuple(d for i, d in enumerate(ids)
                                    if check_id(d, f"precedence.{qid}[{i}]"))
    comparators = _comparators(data.get("comparators"), file, out, lexicon,
                               _known_results(folder))
    topics = Topics(
        source=file,
        treatment=(treatment or (names[0] if names else "the treatment")).strip(),
        names=_compile(names, "names", file, out),
        questions={q: _compile(v, f"topics.{q}", file, out) for q, v in merged.items()},
        requires=requires,
        titles={q["id"]: str(q.get("title") or q["id"]) for q in questions},
        roles=roles, precedence=precedence,
        mechanism=_compile(_phrase_list(data.get("mechanism"), "mechanism", out), "mechanism",
                           file, out),
        procedure=_compile(_phrase_list(data.get("procedure"), "procedure", out), "procedure",
                           file, out),
        comparators=comparators, raw=data)
    return topics, out.messages


def _comparators(raw: Any, file: str, out: _Collector, lexicon: Any,
                 known: set[str] | None) -> tuple[Comparator, ...]:
    """Each comparator's words joined to every comparative cue of the lexicon.

    One pattern per cue and comparator ("better than" + up to the lexicon's ``comparator_gap``
    words + any of the comparator's words), indexed under the cue's first word like any phrase, so
    comparisons cost no more than other cues (the audit stays linear).
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        out.error("comparators", "must be a list of comparators ({id, name, words, finding, "
                                 "evidence, says})")
        return ()
    if lexicon is None:
        from .lexicon import load_lexicon

        lexicon = load_lexicon()
    result = []
    for i, entry in enumerate(raw):
        where = f"comparators[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                or not isinstance(entry.get("name"), str):
            out.error(where, "each comparator needs an id and a name (strings)", near="comparators")
            continue
        unknown = set(entry) - _COMPARATOR_KEYS
        if unknown:
            out.error(where, f"unknown key(s) {', '.join(sorted(unknown))}", near=entry["id"])
        finding = entry.get("finding")
        if finding not in COMPARATOR_FINDINGS:
            out.error(f"{where}.finding", f"finding {finding!r} is not one of "
                                          f"{', '.join(COMPARATOR_FINDINGS)}", near="finding")
            continue
        words = _phrase_list(entry.get("words"), f"{where}.words", out)
        if not words:
            out.error(f"{where}.words", "needs the words a page uses for this comparator",
                      near=entry["id"])
            continue
        evidence = _phrase_list(entry.get("evidence"), f"{where}.evidence", out)
        if known is not None:
            for e in evidence:
                if e not in known:
                    out.error(f"{where}.evidence", f"no result {e!r} in studies/ (write it as "
                                                   "study#result, as in the study files)", near=e)
        if finding in ("no-difference", "comparator-better") and not evidence:
            out.error(f"{where}.evidence", f"a finding of {finding} needs the records that show it",
                      near=entry["id"])
        try:
            for w in words:
                Phrases([w], f"{where}.words", file)
            alts = "|".join(f"(?:{phrase_regex(w)})" for w in sorted(words, key=len, reverse=True))
            phrases = ["re:" + phrase_regex(cue) + gap_regex(lexicon.comparator_gap) + f"(?:{alts})"
                       for cue in lexicon.comparative_cues]
            keys = {ph: cue.split()[0] for ph, cue in zip(phrases, lexicon.comparative_cues)
                    if not cue.startswith("re:")}
            compiled = Phrases(phrases, f"{where}.words", file, keys)
        except (InputError, ValueError) as exc:
            out.error(f"{where}.words", f"bad phrase: {getattr(exc, 'message', exc)}",
                      near=entry["id"])
            continue
        result.append(Comparator(
            id=entry["id"], name=entry["name"], finding=finding, evidence=tuple(evidence),
            says=" ".join(str(entry.get("says") or "").split()),
            suggestion=" ".join(str(entry.get("suggestion") or "").split()),
            phrases=compiled))
    return tuple(result)


def _derived(shown: str, questions: list[dict], names: list[str]) -> Topics:
    """Topics from questions.yaml alone: each question's ``topics``, roles from ``kind``."""
    roles: dict[str, str] = {}
    for q in questions:
        role = {"harm": "safety", "dose": "sessions", "mechanism": "mechanism"}.get(q.get("kind"))
        if role:
            roles.setdefault(role, q["id"])
    first = next((q["id"] for q in questions if q.get("kind", "benefit") == "benefit"), None)
    if first:
        roles["generic"] = first
    return Topics(
        source=f"{shown} (questions.yaml; no {TOPIC_FILE})" if shown != "the claims given" else shown,
        treatment=names[0] if names else "the treatment",
        names=Phrases(names, "names", None),
        questions={q["id"]: Phrases([str(t) for t in q.get("topics") or ()], f"topics.{q['id']}",
                                    None) for q in questions},
        requires={}, titles={q["id"]: str(q.get("title") or q["id"]) for q in questions},
        roles=roles, precedence={}, mechanism=Phrases([], "mechanism", None),
        procedure=Phrases([], "procedure", None), derived=True)


def topics_from_claims(claims: Any) -> Topics:
    """Topics from a ClaimSet alone (no evidence folder): topics and roles from each claim.

    The treatment's names are unknown here, so every sentence may be about the treatment.
    """
    questions = [{"id": c.question, "kind": c.kind, "topics": list(getattr(c, "topics", ()) or ()),
                  "title": c.title} for c in getattr(claims, "claims", ())]
    return _derived("the claims given", questions, [])


def load_topics(evidence_dir: str | Path, *, lexicon: Any = None) -> Topics:
    """The topic knowledge of an evidence folder: its ``audit-topics.yaml``, or derived.

    Raises
    ------
    InputError
        The topic file has an error (the first one; ``evidencekit validate`` lists them all). The
        message names the file in the folder given.
    """
    folder = Path(evidence_dir)
    if not folder.is_dir():
        raise InputError("evidence folder not found", file=str(evidence_dir))
    topics, messages = _parse(folder, str(evidence_dir), lexicon)
    if messages:
        first = messages[0]
        more = f" (and {len(messages) - 1} more; run `evidencekit validate`)" if len(messages) > 1 \
            else ""
        raise InputError(first.message + more, file=first.file, line=first.line, field=first.field)
    return topics


def validate_topics(evidence_dir: str | Path) -> list[Message]:
    """Every problem in the folder's topic file (none when it has no topic file).

    Unknown sections and roles, ids that are not questions of ``questions.yaml``, comparator records
    that are not results in ``studies/``, phrases that do not compile or could backtrack without end
    (``re:(\\w+\\s?)*$``), wrong shapes. Each message names the file and, where found, the line.
    """
    folder = Path(evidence_dir)
    if not folder.is_dir():
        return []
    _topics, messages = _parse(folder, str(evidence_dir), None)
    return messages


