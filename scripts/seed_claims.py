"""Write docs/seed-claims.md: every health claim of the two seed clinic pages against the claims.

The two patient pages that started the project (one is ``../shared/samples/patient-page-dry-needling.txt``;
the other is held out, so only the kinds of claim it makes are listed) make the claims in
:data:`PAGE_CLAIMS`. Each is answered by the review questions it bears on; the answer column is
generated from :func:`evidencekit.make_claims` on the bundled evidence, so the table changes when
the evidence or the claim rules change. ``tests/test_seed_claims.py`` fails when the committed file
is stale: run ``python scripts/seed_claims.py`` to regenerate it.

Usage::

    python scripts/seed_claims.py            # write docs/seed-claims.md
    python scripts/seed_claims.py --check    # exit 1 if docs/seed-claims.md is out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Iterable, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "seed-claims.md"
EVIDENCE = ROOT / "evidence"


class PageClaim(NamedTuple):
    """One health claim a seed page makes, and the questions whose claims answer it."""

    kind: str                   # the kind of claim, in a few words
    where: str                  # "sample page" (quoted verbatim) or "other page" (kind only)
    says: str                   # the page's words (sample page) or what the claim asserts
    questions: tuple[str, ...]  # question ids in evidence/questions.yaml
    reading: str                # what the sources say about the page's reading (not generated)


SAMPLE, OTHER, BOTH = "sample page", "other page (kind only)", "both pages"

#: The seed pages' health claims. Quotes from the sample page are verbatim; the held-out page is
#: described by the kinds of claim it makes. ``reading`` states facts from the source notes that
#: the generated answers alone do not show (what a cited paper measured, what it did not).
PAGE_CLAIMS: tuple[PageClaim, ...] = (
    PageClaim(
        "reduces pain", BOTH,
        "Several studies have demonstrated immediate or short-term improvements in pain or "
        "disability by targeting trigger points with dry needling.",
        ("pain-short-term", "pain-immediate", "pain-vs-untreated-side", "pain-added-to-other-care",
         "pain-vs-manual-therapy", "pain-vs-other-therapies", "pain-vs-injection", "shoulder-pain",
         "shoulder-pain-vs-other-treatments"),
        "The answer depends on what dry needling is compared with: each comparison has its own "
        "claim. Against other active treatments the reviews disagree: no difference from trigger "
        "point manual therapy (Lew 2021) or other physical therapy (Navarro-Santana 2020), a small "
        "short-term benefit over manual therapy (Navarro-Santana 2020), other therapies better "
        "at 9-28 days and injection better (Liu 2015)."),
    PageClaim(
        "the 2007 shoulder study: reduces pain", SAMPLE,
        "A 2007 study published in the American Journal of Physical Medicine and Rehabilitation "
        "suggests that dry needling significantly reduced shoulder pain by targeting a trigger "
        "point.",
        ("pain-vs-untreated-side",),
        "Hsieh 2007: 14 people, one session, measured only immediately afterwards; the untreated "
        "shoulder was the control and the study's aim was mechanistic (SOURCES.md section 1)."),
    PageClaim(
        "improves range of motion", BOTH,
        "In the hands of a skilled dry needle therapist, it is a safe and effective treatment "
        "option and the patient will see benefits in the range of motion and joint use right "
        "away.",
        ("movement", "movement-vs-untreated-side", "movement-vs-stretching"),
        "Fernández-de-las-Peñas 2021: \"No significant effects on cervical range of motion\" when "
        "dry needling was added to other care."),
    PageClaim(
        "more fluid movement with movement-based therapy", SAMPLE,
        "Research shows that patients undergoing dry needling therapy, in conjunction with "
        "movement-based therapy, experience more fluid movement.",
        ("movement",),
        "Yeganeh Lari 2016 found dry needling with muscle energy technique better than either "
        "alone, in young women whose trigger points did not hurt on their own; Sterling 2015's "
        "movement means have no between-group test."),
    PageClaim(
        "speeds recovery", BOTH,
        "Patients who undergo dry needling therapy experience less pain quickly; in fact, most "
        "patients feel the benefits immediately after their first treatment.",
        ("pain-immediate", "function-added-to-other-care", "whiplash-recovery"),
        "No study in the notes measured how fast people recovered."),
    PageClaim(
        "function restored more quickly (JOSPT reports)", SAMPLE,
        "According to reports published by the Journal of Orthopaedic & Sports Physical Therapy, "
        "the patient function is restored much more quickly when dry needling is incorporated "
        "as part of the total package such as spinal manipulation and dry needling.",
        ("function-added-to-other-care", "function", "function-vs-other-treatments"),
        "Gattie 2017 (JOSPT): a functional benefit versus control/sham, \"but not when compared "
        "to other treatments\"; any musculoskeletal pain; high heterogeneity."),
    PageClaim(
        "safe", BOTH,
        "Dry needling is a safe and effective treatment option for patients who are not afraid "
        "of needles.",
        ("safety", "serious-harms", "side-effects-vs-comparator"),
        "Brady 2014 and Boyce 2020 counted side effects per treatment, as reported by the "
        "therapists; mild ones were common, serious ones rare."),
    PageClaim(
        "several sessions (3-6 sessions)", BOTH,
        "It\u2019s normal that it may take several dry needling therapy sessions before the muscle is "
        "fully functional again.",
        ("sessions",),
        "No study in the notes compared numbers of sessions; a count such as 3-6 has no source."),
    PageClaim(
        "releases knots", BOTH,
        "This form of alternative therapy is used to release tight muscle bands that are "
        "associated with trigger point or hard \u201cknots\u201d within a muscle that can cause "
        "pain over a large area.",
        ("mechanism",),
        "A theory: trigger points cannot be found reliably by hand (Dunning 2014)."),
    PageClaim(
        "improves blood flow", OTHER,
        "Dry needling improves blood flow to the muscle.",
        ("mechanism",),
        "No study in the notes measured blood flow."),
    PageClaim(
        "reduces inflammation", BOTH,
        "This can be due to a release of immune system-related chemicals, inflammation, or even "
        "spontaneous electrical activity.",
        ("mechanism",),
        "No study in the notes measured inflammation; the electrical-activity work is in rabbits "
        "and rats (Chen 2001, Liu 2017)."),
    PageClaim(
        "resets the muscle / disrupts a dysfunctional motor endplate", BOTH,
        "In fact, this technique can help mechanically disrupt a dysfunctional motor endplate.",
        ("mechanism",),
        "The \"dysfunctional endplate\" is the integrated trigger point hypothesis (Bron 2012); "
        "support comes from animal studies only (SOURCES.md section 5d)."),
    PageClaim(
        "trigger points as constant sources of nociceptive input", SAMPLE,
        "\u201cFrom a pain science perspective, trigger points are constant sources of peripheral "
        "nociceptive input leading to peripheral and central sensitization,\u201d",
        ("mechanism",),
        "A theoretical position in a narrative review (Dommerholt 2011), not a measured finding."),
    PageClaim(
        "twitch response means it worked", BOTH,
        "A local twitch response is a therapeutic response that serves as a sign that the needle "
        "has hit the trigger point, so it\u2019s actually a good and desirable reaction.",
        ("mechanism",),
        "No study in the notes tested whether a twitch response predicts a better result."),
    PageClaim(
        "\"all participants\" had less pain", BOTH,
        "All the participants experienced a reduction in pain.",
        ("pain-added-to-other-care", "pain-vs-other-therapies"),
        "Yeganeh Lari 2016 reports group-level decreases (p = 0.001), not a reduction for every "
        "person, and found dry needling alone no better than muscle energy technique alone."),
    PageClaim(
        "\"proves\"", BOTH,
        "The athletes were able to continue with overhead activities, which proves that this "
        "technique does not cause functional weakness and reduced range of motion immediately "
        "after treatment.",
        ("athletes",),
        "Osborne 2010: four case reports with no comparison group; nothing in them can prove an "
        "effect."),
    PageClaim(
        "elite athletes", SAMPLE,
        "These cases support the use of dry needling in elite athletes during a competitive phase "
        "with short-term pain relief and improved function in shoulder injuries.",
        ("athletes",),
        "The authors' own words for four case reports (Osborne 2010)."),
    PageClaim(
        "the JOSPT review", BOTH,
        "The researchers found that this needling can be an effective means of pain relief when "
        "dealing with myofascial pain syndrome, or the presence of painful trigger points and "
        "muscles.",
        ("pain-short-term", "pain-immediate"),
        "Kietrys 2013 (JOSPT): versus sham, 3 studies immediately and 2 at 4 weeks, the 4-week "
        "estimate with a wide CI; no pooled numbers were found."),
    PageClaim(
        "the whiplash trial", BOTH,
        "A study conducted at the University of Queensland in Australia investigated the "
        "effectiveness of dry needling for chronic whiplash ...",
        ("whiplash-recovery",),
        "Sterling 2015: \"dry-needling and exercise has no clinically worthwhile effects over sham "
        "dry-needling and exercise\"."),
)


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, newlines and HTML brackets defused."""
    return (" ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _answers(question_ids: Iterable[str], claims_by_question: dict[str, list[dict]]) -> str:
    parts = []
    for qid in question_ids:
        for c in claims_by_question.get(qid, []):
            comparison = c.get("comparison")
            if comparison and " vs " not in comparison:
                comparison = f"vs {comparison}"
            head = f"**{qid}**" + (f" ({comparison})" if comparison else "")
            parts.append(f"{head}, certainty {c['certainty']}: {c['claim']} "
                         f"[{', '.join(c.get('citations') or []) or 'no studies'}]")
    return "<br>".join(_cell(p) for p in parts) if parts else "(no claim)"


def render(evidence: Path = EVIDENCE) -> str:
    """The Markdown text of docs/seed-claims.md, from the claims of ``evidence``."""
    sys.path.insert(0, str(ROOT / "src"))
    from evidencekit import load_library, make_claims

    library = load_library(evidence)
    by_question: dict[str, list[dict]] = {}
    for claim in make_claims(library, by_comparison=True):  # as `evidencekit claims` makes them
        data = claim.to_dict()
        by_question.setdefault(data["question"], []).append(data)
    lines = [
        "# The seed pages' health claims, answered",
        "",
        "<!-- Generated by scripts/seed_claims.py from the bundled evidence; do not edit by hand. -->",
        "",
        "Every health claim the two clinic pages that started this project make, and what the",
        "review's claims say about it. The first page is `../shared/samples/patient-page-dry-needling.txt`",
        "(quoted verbatim); the second is held out, so only the kinds of claim it makes are listed.",
        "The answers are generated from `evidencekit claims` on `evidence/`, one per comparison;",
        "\"Our reading\" is what the source notes say about the papers the page relies on.",
        "",
        "| Page claim | Page | The page says | What the evidence says | Our reading |",
        "|---|---|---|---|---|",
    ]
    for pc in PAGE_CLAIMS:
        lines.append(f"| {_cell(pc.kind)} | {_cell(pc.where)} | {_cell(pc.says)} | "
                     f"{_answers(pc.questions, by_question)} | {_cell(pc.reading)} |")
    lines += ["", "Regenerate with `python scripts/seed_claims.py`; `tests/test_seed_claims.py` "
              "fails when this file is out of date.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/seed-claims.md differs from what would be written")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python scripts/seed_claims.py",
                  file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
