"""Second held-out evaluation of `evidencekit audit`, on a page its rules were never written against.

The page (tests/data/samples/heldout-clinic-page-2.txt) is an FAQ-style clinic page with testimonials, a
sports section, a "science behind it" section, safety, pricing and references. It was written, and every
sentence below labelled, by someone who had not read the auditor's code, lexicon, docs or other test
pages, and before the auditor was first run on it. The labels are grounded in
../shared/evidence/SOURCES.md and the certainty of each question (`evidencekit claims`).

Status: no longer blind. FIRST_* keep the blind result; the rules were then changed after reading
this page's errors, so MEASURED_* (and the floors) are in-sample, development-page figures.

Never edit the labels to fit the auditor's output: LABELS_SHA256 pins them. If a label is wrong, say so
in the docs and leave it; FIRST_* are what the auditor did on unseen text.

Scoring. Each label spans from its prefix to the next label's prefix. A finding is matched to the label
whose span it overlaps most. "Flagged" means any finding, whatever its verdict ('supported' counts as a
detected claim). Precision = claims flagged / all flagged units; recall = claims flagged / claims;
verdict agreement = flagged claims whose verdict equals the label / flagged claims.

    .venv/bin/python -m pytest tests/test_audit_heldout2.py -q -s
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import score_page  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "tests" / "data" / "samples" / "heldout-clinic-page-2.txt"
PAGE_SHA256 = "3150f864b563778a1b7f1c630e8aa9a6b94f7af3be03532ca5e90250ea78c36c"
# The copy of LABELS saved before the first run, kept in the repository (JSON, no code to exec).
FROZEN_LABELS = REPO / "tests" / "data" / "samples" / "heldout-clinic-page-2.labels.json"

# ---- labels (verbatim copy of the frozen file) ----
# Labels for tests/data/samples/heldout-clinic-page-2.txt, written BEFORE the auditor was run on the page.
# Each row: (unique prefix of the sentence, expected verdict or None for "not a claim", reason).
# Verdict precedence when a sentence could take two: contradicted > unsupported > mechanism-as-fact
# > overstated > supported. Wording ladder (GRADE): low -> "may", very low -> "very uncertain".
# Accurate caveats that speak to a question (effect size, duration, sessions, mechanism, safety) count
# as claims and are expected `supported`; generic remarks about "the research" are not claims.
S, O, U, C, M = "supported", "overstated", "unsupported", "contradicted", "mechanism-as-fact"

LABELS = [
    ("Northgate Movement & Sports Clinic", None, "heading: clinic name"),
    ("Trigger-Point Dry Needling: Your Questions", None, "heading"),
    ("Thinking about dry needling but not sure", None, "a question to the reader, no claim"),
    ("Our physiotherapists answer the questions", None, "about the clinic"),
    ("Many people come to us with neck and shoulder", None, "who the clinic sees; says nothing about the treatment's effect"),
    ("What is dry needling?", None, "heading (question)"),
    ("Dry needling is a technique in which", None, "procedure description"),
    ("It is called “dry” because", None, "procedure description"),
    ("A trigger point is a small, tender spot", None, "definition of a trigger point (Chou: 'tender'); no effect claimed"),
    ("Trigger points are constantly firing pain signals", M, "Dommerholt 2011's 'constant sources of nociceptive input' is a theory from a narrative review (mechanism very low), stated as fact"),
    ("Dry needling is not the same as acupuncture", None, "procedure description"),
    ("Does it actually work?", None, "heading (question)"),
    ("The honest answer is that the research", None, "generic remark about the research; names no effect or question"),
    ("Reviews that pooled small trials suggest", S, "pain-short-term low (benefit vs sham): 'suggest ... may reduce ... for a few weeks' is at the ladder's wording"),
    ("Because those trials were small and of low quality", S, "pain low certainty: 'may help, not that it will' matches the ladder"),
    ("Even so, dry needling is a clinically proven", O, "'clinically proven' for pain whose certainty is low (may reduce)"),
    ("It is highly effective for shoulder pain", O, "'highly effective' absolute; pain certainty low, size unknown"),
    ("Dry needling also relieves tension headaches", U, "no study in the library measured headaches or sciatica"),
    ("In a 2013 review of twelve trials", S, "accurate report of Kietrys 2013 (3 sham studies immediate, 2 at 4 weeks: 'can decrease pain'); attributed, not asserted"),
    ("Benefits beyond the first few months have not been shown", S, "matches Kietrys (no data beyond 4 wk) and Gattie 2017 ('long-term benefit ... currently lacking')"),
    ("Most of our patients enjoy lasting, permanent relief", O, "'lasting, permanent': long-term benefit not established (Gattie 2017 n.s. at 6-12 months); pain certainty only low and short-term"),
    ("In one study, all the women treated had less pain", O, "Yeganeh Lari 2016 reports group-level decreases, not every participant ('all participants' absolute)"),
    ("Dry needling works better than stretching", C, "Yeganeh Lari 2016: 'No significant differences were found between the MET-only group and the DN-only group'"),
    ("It also works better than trigger-point injections", C, "Liu 2015 review (pain caveat): a trigger-point injection worked better than dry needling"),
    ("For people with neck or shoulder pain, it may be worth", S, "hedged ('may'), evidence flagged as limited; pain low"),
    ("How soon will I feel better?", None, "heading (question)"),
    ("Many patients feel immediate relief", O, "'immediate relief' stated as fact; pain-immediate is low (may reduce), size unknown"),
    ("Research on pain straight after a single session", S, "pain-immediate low: small benefit with uncertain size, hedged"),
    ("Everyone responds differently, and we will review", None, "clinic process"),
    ("Most people need four to six sessions", U, "sessions: no studies on how many sessions are needed; 'for good' also unsupported"),
    ("No study has worked out how many sessions", S, "sessions: matches 'We found no studies on how many sessions ... are needed'"),
    ("Does it hurt?", None, "heading (question)"),
    ("Most people feel a brief deep ache or a small twitch", None, "describes the sensation of the procedure (local twitch), no effect claimed"),
    ("That twitch is the trigger point releasing", M, "twitch = 'release' and proof of effect is a hypothesised mechanism stated as established"),
    ("The needle usually stays in for", None, "procedure description"),
    ("It is completely painless for the vast majority", O, "'completely painless' absolute about adverse sensations; safety certainty very low"),
    ("Is it safe?", None, "heading (question)"),
    ("Dry needling is 100% safe when performed", O, "'100% safe': safety is very low certainty (RR 1.89, CI 0.38-9.39)"),
    ("The studies we rely on say very little about side effects", S, "safety very low: 3 of 4 studies gave no side-effect data; matches 'we do not know'"),
    ("Afterwards you may have some soreness", S, "hedged note on after-effects; claims no safety the evidence lacks"),
    ("Unlike medication, it has no side effects at all", O, "absolute 'no side effects at all'; safety very uncertain, RR CI includes important harm"),
    ("We use single-use sterile needles", None, "procedure/hygiene"),
    ("Please tell us if you are pregnant", None, "logistics/precautions"),
    ("Your physiotherapist will not needle over the chest", None, "procedure precaution"),
    ("If your pain is getting worse, or you have numbness", None, "safety-netting advice, not a claim about the treatment"),
    ("The science behind it", None, "heading"),
    ("When the needle enters the trigger point, it mechanically", M, "dysfunctional endplate / excess acetylcholine is the integrated TrP hypothesis (Bron 2012); animal evidence only"),
    ("This resets the muscle to its normal resting length", M, "'resets the muscle' (issue 5's own example) stated as established"),
    ("Needling also boosts local blood flow and flushes out", M, "blood flow / flushing chemicals: hypothesised mechanism, not shown in patients (Cagnie 2013)"),
    ("By calming an over-sensitised nervous system", M, "central sensitisation / pain-spasm cycle is theory (Dommerholt 2011), stated as fact"),
    ("These explanations come mainly from animal studies", S, "mechanism very low: matches 'ideas ... from reviews and animal studies ... not shown in patients'"),
    ("In rats, needling reduced the electrical", S, "accurate report of Liu 2017 (rats, EPN/EPS decreased) with the caveat that it is not known in people"),
    ("A 2007 study of 14 patients with shoulder pain", S, "accurate report of Hsieh 2007: pain and ROM measured only immediately after one session on the treated side"),
    ("This study proves that needling one key trigger point", M, "Hsieh 2007's satellite-MTrP conclusion is mechanistic, n=14, no clean control; 'proves' states it as established"),
    ("Scientists still disagree about what trigger points are", S, "matches Dunning 2014 (TrP identification not reliable); mechanism caveat"),
    ("Will it help my stiff neck?", None, "heading (question)"),
    ("Dry needling restores full range of movement", O, "movement very low: 'restores full' far beyond 'very uncertain'"),
    ("Patients see huge gains in flexibility", O, "movement very low: 'huge gains ... after just one session'"),
    ("It may help you move more freely", O, "movement is very low: the ladder allows only 'very uncertain'; 'may' is the wording for low"),
    ("The evidence on whether it improves movement is very uncertain", S, "movement very low; Fernandez-de-las-Penas 2021 rom-no-effect"),
    ("Sports injuries", None, "heading"),
    ("Dry needling is a favourite with elite athletes", U, "athletes: no comparative study; return to play not measured"),
    ("A report on four international volleyball players showed", U, "Osborne 2010: 4 case reports, no comparison; 'cannot show that dry needling helped'"),
    ("Because that report had no comparison group", S, "athletes caveat stated accurately"),
    ("Regular needling sessions prevent re-injury", U, "no study measured re-injury or performance"),
    ("We often combine needling with strength work", None, "clinic practice"),
    ("Can it help after whiplash?", None, "heading (question)"),
    ("Yes — a major University of Queensland trial showed", C, "Sterling 2015 is a negative trial: 'no clinically worthwhile effects over sham'"),
    ("Our whiplash patients recover faster", C, "whiplash-recovery moderate little-to-no-difference; 'no effect for self-rated recovery'"),
    ("In that trial of 80 people, adding dry needling", S, "matches whiplash-recovery claim (moderate, little to no difference)"),
    ("Exercise remains the core of our whiplash programme", None, "clinic programme"),
    ("Dry needling speeds up healing of damaged ligaments", U, "ligament healing: no study measured it"),
    ("What our patients say", None, "heading"),
    ("“After two sessions my shoulder pain had completely gone", O, "testimonial: complete and permanent relief; pain certainty low, short-term only"),
    ("“Since starting dry needling I sleep through the night", U, "testimonial: sleep and painkiller use were measured by no study"),
    ("“The team were friendly and the clinic was spotless", None, "testimonial about the clinic"),
    ("Individual stories like these are encouraging", S, "accurate caveat: uncontrolled reports cannot show the needling caused improvement"),
    ("Dry needling also reduces stress and anxiety", U, "stress, anxiety, immunity: no study measured them"),
    ("It detoxifies the muscle tissue", M, "'detox' / 'flushes out toxins' is issue 5's mechanism-as-fact example"),
    ("Your first appointment", None, "heading"),
    ("Your first visit lasts about 45 minutes", None, "logistics"),
    ("We take a full history, examine how you move", None, "procedure"),
    ("If you prefer not to have needles", None, "logistics"),
    ("The skin is cleaned, the needle is placed", None, "procedure description"),
    ("You can drive and return to work straight afterwards", None, "logistics"),
    ("Pricing and booking", None, "heading"),
    ("An initial assessment with needling costs", None, "pricing"),
    ("A package of five follow-up sessions", None, "pricing (a number of sessions, but no promise about what they achieve)"),
    ("We recommend booking the full package, because", U, "sessions no evidence: 'a complete course gives the best long-term results'"),
    ("Many private health insurers cover dry needling", None, "insurance logistics"),
    ("Book online or call us on", None, "booking"),
    ("Cancellations with less than 24 hours", None, "booking"),
    ("Book today and start living pain-free tomorrow!", O, "'pain-free tomorrow': absolute promise; pain certainty low"),
    ("About our team", None, "heading"),
    ("Our clinic is led by Dr. Helen Marsh", None, "about the clinic (abbreviation 'Dr.')"),
    ("All our physiotherapists have completed", None, "about the clinic"),
    ("References", None, "heading"),
    ("Kietrys DM, Palombaro KM", None, "reference"),
    ("Sterling M, Vicenzino B", None, "reference (title names whiplash)"),
    ("Hsieh YL, Kao MJ", None, "reference (title says 'may reduce')"),
    ("Osborne NJ, Gatt IT", None, "reference"),
    ("Dommerholt J. Dry needling", None, "reference"),
    ("This page is for general information", None, "disclaimer"),
]
# ---- end of labels ----

LABELS_SHA256 = "55813532806c7248620ddf3818b34729a5553de18e6d9e04eef58136aeec7383"  # sha256 of repr(LABELS); pins the labels as frozen before the first run

VERDICTS = ["supported", "overstated", "unsupported", "contradicted", "mechanism-as-fact"]

# MARGIN guards regressions, not a target: it lets the rules move a little without noise failures,
# and a rule change that loses more than this should be looked at, not waved through.
MARGIN = 0.05
# First blind run, 2026-11-22, rules frozen (/tmp/audit-rules-frozen), labels frozen beforehand.
# This is the blind result, the one to quote for those rules:
FIRST_PRECISION = 34 / 35  # 0.971: one neutral sentence flagged ("You can drive and return to work")
FIRST_RECALL = 34 / 51  # 0.667: 17 labelled claims not flagged, 9 of them accurate caveats
FIRST_AGREEMENT = 28 / 34  # 0.824: verdict equals the label among flagged claims
# The rules were then changed after reading this page's errors (docs/audit.md, "Rule changes after
# the blind second page"), so from then on this is a *development* page and the figures below are
# in-sample. Labels unchanged. Floors are these minus MARGIN.
# Re-measured after the rules of issue 14 (docs/audit.md, "Issue 14"); before them 40/41, 40/51,
# 40/40. The accurate caveats are now read as statements about the evidence.
MEASURED_PRECISION = 51 / 53  # 0.962: "You can drive and return to work", one evidence sentence
MEASURED_RECALL = 51 / 51  # 1.000
MEASURED_AGREEMENT = 49 / 51  # 0.961


def _source() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def findings() -> list[dict]:
    exe = Path(sys.executable).with_name("evidencekit")
    proc = subprocess.run(
        [str(exe), "audit", str(PAGE), "--format", "json", "--evidence", str(REPO / "evidence")],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["findings"]


def _report(sc) -> str:
    name = lambda v: "(not flagged)" if v is None else v  # noqa: E731
    lines = [sc.format_confusion(), ""]
    lines.append(f"precision {sc.precision:.3f} ({sc.tp}/{sc.flagged}), "
                 f"recall {sc.recall:.3f} ({sc.tp}/{sc.claims}), "
                 f"verdict agreement {sc.verdict_agreement:.3f} ({sc.agree}/{sc.tp}); "
                 f"end-to-end {sc.agree}/{sc.claims}; stray findings {len(sc.stray)}; "
                 f"units with >1 finding {sc.split}")
    lines.append("disagreements (expected -> auditor):")
    for i, exp, got in sc.misses:
        prefix, _exp, reason = LABELS[i]
        lines.append(f"  {name(exp):>17} -> {name(got):<17} {prefix!r}  [{reason}]")
    return "\n".join(lines)


def test_page_is_pinned():
    assert hashlib.sha256(PAGE.read_bytes()).hexdigest() == PAGE_SHA256


def test_labels_are_frozen():
    assert hashlib.sha256(repr(LABELS).encode("utf-8")).hexdigest() == LABELS_SHA256
    frozen = json.loads(FROZEN_LABELS.read_text(encoding="utf-8"))
    assert [tuple(row) for row in frozen] == list(LABELS)


def test_labels_cover_the_page_in_order():
    source = _source()
    starts = []
    for prefix, verdict, reason in LABELS:
        assert source.count(prefix) == 1, prefix
        assert verdict is None or verdict in VERDICTS, verdict
        assert reason
        starts.append(source.index(prefix))
    assert starts == sorted(starts)
    assert source[:starts[0]].strip() == ""


def test_offsets_are_exact(findings):
    source = _source()
    assert findings
    for f in findings:
        assert f["text"] == source[f["start"]:f["end"]], f
        assert f["verdict"] in VERDICTS, f


def test_heldout2_scores(findings):
    sc = score_page(_source(), LABELS, findings)
    print("\n" + _report(sc))
    assert sc.precision >= MEASURED_PRECISION - MARGIN
    assert sc.recall >= MEASURED_RECALL - MARGIN
    assert sc.verdict_agreement >= MEASURED_AGREEMENT - MARGIN
