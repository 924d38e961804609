"""Measurement of the audit on a second page, first held out, now a development page.

The page was held out for the first measurement only (the rules had not been run on it). The rules
were then changed after reading its errors, so the figures this test prints today are in-sample;
``FIRST_*`` below keeps the held-out result. A fresh page is needed for an unbiased figure.

``tests/data/samples/heldout-clinic-page.txt`` is a clinic-style page about trigger-point dry
needling written for this test (procedure, logistics, benefits, safety, sessions, the five cited
studies, mechanism talk, and hedged honest sentences). It reuses no sentence of the in-sample page
``patient-page-dry-needling.txt``. The author had read ``../shared/evidence/SOURCES.md``, the output
of ``evidencekit claims`` and ``docs/audit.md`` (which names a few cues), but not ``audit.py`` or
``data/audit_lexicon.yaml``.

``LABELS`` lists every sentence of the page (each heading, list item and reference entry counts as
one), in page order, as ``(prefix, expected verdict or None, reason)``. ``None`` means "not a health
claim: must not be reported". The labels were written *before* the audit was run on the page and
were not edited afterwards. They are judged against the certainty and direction of the real claims
from ``evidence/`` (pain low/benefit, movement very low/unclear, whiplash moderate/no-difference,
athletes and sessions no-evidence, safety and mechanism very low/unclear); a reader may disagree
with some borderline labels, whose reasons say so.

Scoring is per labelled sentence.  A finding is attributed to the sentence its start falls in and to
every later sentence whose prefix it covers.  A sentence counts as *flagged* when any finding is
attributed to it (a ``supported`` finding is a detected claim); its predicted verdict is that of the
first such finding. (This is ``score_page(..., match="start")`` in ``tests/_audit_support.py``; the
other pages use the default "overlaps most" rule, which gives the same figures on this page.)

* precision = flagged sentences labelled as claims / flagged sentences
* recall = flagged sentences labelled as claims / sentences labelled as claims
* verdict agreement = flagged claims whose verdict equals the label / flagged claims

Run ``.venv/bin/python -m pytest tests/test_audit_heldout.py -q -s`` to print the numbers and the
confusion table quoted in docs/audit.md ("Held-out evaluation").
"""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _audit_support import VERDICTS, real_claims, score_page  # noqa: E402

from evidencekit.audit import audit_text, read_page  # noqa: E402

EVIDENCE_DIR = Path(__file__).resolve().parents[1] / "evidence"

PAGE = Path(__file__).parent / "data" / "samples" / "heldout-clinic-page.txt"
# The labels describe this exact text; editing the page to suit the audit would void the result.
PAGE_SHA256 = "75955261424e08275ebc7cdc8f3e054e059d5575c03101e7a90c549c052e17ba"

# (sentence prefix, expected verdict or None for "not a health claim", reason).  SOURCES n = section
# n of ../shared/evidence/SOURCES.md; certainties are those of `evidencekit claims`.
LABELS: list[tuple[str, str | None, str]] = [
    ('Trigger-Point Dry Needling at Harbourside', None,
     'heading, no claim'),
    ('At Harbourside Physio, our physiotherapists', None,
     'clinic description'),
    ('Dry needling uses a fine, solid filament', None,
     'procedure description'),
    ('Unlike a hypodermic needle, nothing is injected:', None,
     'procedure description'),
    ('It is sometimes confused with acupuncture,', None,
     'comparison with acupuncture, not a health claim'),
    ('What is a trigger point?', None,
     'heading, no claim'),
    ('A trigger point is a small, tender spot', None,
     'definition of the condition'),
    ('Trigger points form when a muscle is overloaded,', None,
     "aetiology of the condition, not about the treatment; SOURCES 5c: 'general agreement' on "
     'overuse/trauma'),
    ('Active trigger points are constantly firing', 'mechanism-as-fact',
     "Dommerholt 2011's 'constant sources of nociceptive input' is a theoretical position in a"
     ' narrative review (SOURCES 5b); mechanism certainty very low'),
    ('They can also refer pain elsewhere, so a', None,
     'description of referred pain (the condition), not an effect of treatment'),
    ('Experts still disagree about how reliably', None,
     'honest caveat about diagnosis (Dunning 2014, SOURCES 5b); not a claim about the '
     "treatment's effect"),
    ('How does dry needling work?', None,
     'heading, no claim'),
    ('When the needle reaches a trigger point,', None,
     'procedure: what the patient may observe'),
    ('This twitch is the knot switching off, and', 'mechanism-as-fact',
     "twitch-as-deactivation and 'resets' are the integrated trigger-point hypothesis (SOURCES"
     ' 5c/5d), stated as fact; mechanism very low'),
    ('Needling also triggers a surge of fresh', 'mechanism-as-fact',
     'circulation/washing-out mechanism has no patient evidence (Cagnie 2013: rigorous '
     'evidence lacking, SOURCES 5d)'),
    ('At the same time, the brain responds by', 'mechanism-as-fact',
     'endorphin-type mechanism stated as fact; nothing in SOURCES measures it in patients'),
    ('Animal studies in rabbits and rats suggest', 'supported',
     'accurate: Chen 2001 rabbits, Liu 2017 rats (SOURCES 5d), with the caveat that it is not '
     'shown in patients'),
    ('Honestly, nobody yet knows exactly how dry', 'supported',
     'matches the mechanism claim (very low, unclear) and Cagnie 2013'),
    ('What are the benefits of dry needling?', None,
     'heading, no claim'),
    ('Dry needling eases muscle pain quickly,', 'overstated',
     "plain 'eases ... quickly' where pain-immediate is low certainty ('may reduce'); SOURCES "
     '1, 5a'),
    ('Many of our patients notice they can turn', 'overstated',
     'movement is very low certainty / unclear (n=14 with untreated-side control, SOURCES 1); '
     'anecdote presented as typical'),
    ('It improves flexibility and restores normal', 'overstated',
     'plain movement claim; movement certainty very low'),
    ('It helps you get back to sport and work', 'unsupported',
     'no study in SOURCES measured return to sport or work; athletes question has no '
     'comparative evidence'),
    ('Because it targets the source of the problem', 'mechanism-as-fact',
     "'targets the source' = trigger-point model as fact (SOURCES 5b-5d); 'results last' also "
     'beyond evidence (no follow-up past 4 weeks, SOURCES 5a)'),
    ('Dry needling can also reduce how often tension', 'unsupported',
     'no headache study in SOURCES / evidence'),
    ('It is a drug-free option for people who', None,
     'factual description (no drug is given), not an effect claim'),
    ('Benefits of dry needling include:', None,
     'lead-in ending with a colon'),
    ('- Less muscle pain and tightness', 'overstated',
     "unhedged pain benefit; pain certainty low ('may')"),
    ('- Better range of motion', 'overstated',
     'movement certainty very low / unclear'),
    ('- Faster return to training', 'unsupported',
     'no evidence on return to training (athletes: no comparative study, SOURCES 3)'),
    ('- Improved sleep', 'unsupported',
     'no study in SOURCES measured sleep'),
    ('Some people with neck and shoulder pain', 'supported',
     "'may' matches pain-short-term (low, benefit); caveat about small studies (SOURCES 5a)"),
    ('For some people it makes little or no difference,', 'supported',
     'honest; consistent with low/very-low certainty and a negative whiplash trial'),
    ('Who can benefit?', None,
     'heading, no claim'),
    ('We commonly use dry needling for neck pain,', None,
     'what the clinic uses it for; no effect claimed (borderline: implied indication)'),
    ('It works especially well for desk workers', 'overstated',
     "plain 'works especially well' for upper-quarter pain; pain certainty low"),
    ('Weekend runners and gym-goers also respond', 'unsupported',
     'no evidence for runners / lower-limb problems in SOURCES'),
    ('Patients with long-term neck pain after', 'contradicted',
     'chronic whiplash: Sterling 2015 found no clinically worthwhile benefit and no effect on '
     'recovery (SOURCES 4; moderate, no-difference)'),
    ('What the research says', None,
     'heading, no claim'),
    ('A 2013 systematic review and meta-analysis', None,
     'design description of Kietrys 2013 (SOURCES 5a)'),
    ('It concluded that dry needling beats placebo', 'overstated',
     'firmer than the review itself (3 and 2 studies, wide CI at 4 weeks); pain certainty low '
     '(SOURCES 5a)'),
    ('Those pooled results rest on only three', 'supported',
     'accurate caveat on the pain evidence (SOURCES 5a)'),
    ('In a 2007 study in the American Journal', None,
     'design description of Hsieh 2007 (SOURCES 1)'),
    ('Straight after the single session, the needled', 'supported',
     'accurate past-tense report of Hsieh 2007 (SOURCES 1)'),
    ('This study proves that a single treatment', 'overstated',
     "'proves'/'fix' from n=14, one session, no follow-up (SOURCES 1); pain-immediate low"),
    ('Shoulder patients can therefore expect lasting', 'overstated',
     "'expect lasting relief': measured only immediately after one session (SOURCES 1); pain "
     'low'),
    ('A 2016 trial in Manual Therapy split 60', None,
     'design description of Yeganeh Lari 2016 (SOURCES 2)'),
    ('Every woman who was needled finished the', 'overstated',
     'group-level decreases only, not every participant (SOURCES 2)'),
    ('Needling on its own did no better than the', 'supported',
     'accurate: no DN vs MET difference; latent trigger points (SOURCES 2)'),
    ('Combining needling with muscle energy technique', 'supported',
     'accurate past-tense report of Yeganeh Lari 2016 (SOURCES 2)'),
    ('Elite athletes trust dry needling too: in', 'unsupported',
     'four case reports, no comparison; athletes question has no comparative evidence (SOURCES'
     ' 3); framed as an endorsement'),
    ('Their pain, strength and range of movement', 'supported',
     "accurate past-tense report: 'All scores were improved post-treatment' (SOURCES 3)"),
    ('So whether you play at national level or', 'unsupported',
     "'will keep you on the court': athletes question has no comparative evidence (SOURCES 3),"
     ' amateurs not studied at all'),
    ('Four case reports with no comparison group', 'supported',
     'accurate caveat (SOURCES 3)'),
    ('Researchers at the University of Queensland', None,
     'design description of Sterling 2015 (SOURCES 4)'),
    ('Their results show that adding dry needling', 'contradicted',
     'Sterling 2015: no clinically worthwhile effect, no effect on self-rated recovery '
     '(SOURCES 4); whiplash-recovery moderate, no-difference'),
    ('To be precise, the trial found only a difference', 'supported',
     'accurate report of Sterling 2015 (SOURCES 4)'),
    ('That makes the whiplash trial one of the', None,
     'about study design/quality, not an effect claim (SOURCES 4)'),
    ('Is dry needling safe?', None,
     'heading, no claim'),
    ('Dry needling is extremely safe when performed', 'overstated',
     "'extremely safe': safety certainty very low, direction unclear (he2017 RR 1.89, CI "
     '0.38-9.39)'),
    ('Serious complications are virtually unheard', 'overstated',
     'no adverse-event data in the cited trials (SOURCES 4: NOT FOUND); safety very low'),
    ('Common after-effects include soreness for', 'supported',
     'warning about harms; always acceptable'),
    ('Rarely, a needle placed over the chest wall', 'supported',
     'hedged warning about a harm'),
    ('Please tell us if you are pregnant, take', None,
     'logistics / screening'),
    ('Every needle is sterile, used once and disposed', None,
     'procedure'),
    ('There is not yet enough good data to say', 'supported',
     'matches the safety claim (very low, unclear; studies did not report side effects)'),
    ('Most patients describe the sensation as', None,
     'how the procedure feels (borderline tolerability statement)'),
    ('Many clients are surprised to find it virtually', 'overstated',
     "'virtually painless' is a safety/tolerability claim with no data; safety very low"),
    ('What happens at your appointment', None,
     'heading, no claim'),
    ('Your first visit starts with a full assessment', None,
     'logistics'),
    ('Your physiotherapist will explain the procedure', None,
     'procedure / consent'),
    ('The skin is cleaned with an alcohol swab', None,
     'procedure'),
    ('Needles may be left in place for anywhere', None,
     'procedure'),
    ('We usually follow needling with stretches,', None,
     'procedure / clinic practice'),
    ('Afterwards, drink plenty of water to help', 'mechanism-as-fact',
     "'flush out the waste products' is an unevidenced mechanism (the issue's 'flushes out "
     "toxins'); SOURCES 5d"),
    ('A warm shower or heat pack can ease any', None,
     'aftercare advice about heat, not a claim about dry needling (borderline)'),
    ('How many sessions will I need?', None,
     'heading, no claim'),
    ('Most people need between three and six sessions', 'unsupported',
     'sessions: no evidence (no-evidence); no follow-up beyond one week in the dose-like study'
     ' (SOURCES 2)'),
    ('Long-standing problems usually need more', 'unsupported',
     'dose claim with no evidence (sessions: no-evidence)'),
    ('You should feel a clear improvement within', 'unsupported',
     'promised response within two sessions: sessions no-evidence'),
    ('No study has worked out the ideal number', 'supported',
     "matches the sessions claim ('no studies on how many sessions')"),
    ('Cost and booking', None,
     'heading, no claim'),
    ('An initial assessment with dry needling', None,
     'cost'),
    ('Follow-up sessions are $75 for 30 minute', None,
     'cost'),
    ('Dry needling is covered by most extended', None,
     'insurance'),
    ('You can book online, by phone, or at the', None,
     'booking'),
    ('Wear loose, comfortable clothing so we can', None,
     'what to wear'),
    ('Try to have a light meal an hour or two', 'supported',
     'hedged warning about a harm (light-headedness); borderline with logistics'),
    ('Is dry needling right for you?', None,
     'heading, no claim'),
    ('Dry needling is not a cure-all, and it works', 'overstated',
     "'works best' with exercise: no evidence on DN alone vs DN plus rehab, and Sterling 2015 "
     'found adding DN to exercise gave no worthwhile benefit (SOURCES 4); generic plain '
     'benefit claim'),
    ('The evidence for it is still limited: most', 'supported',
     'accurate summary (SOURCES cross-cutting 1-3)'),
    ('If you would like to know whether it could', None,
     'invitation / logistics'),
    ('We are happy to talk through the research', None,
     'clinic offer'),
    ('References', None,
     'heading, no claim'),
    ('1. Kietrys DM, Palombaro KM, Azzaretto E,', None,
     'reference list entry'),
    ('2. Hsieh YL, Kao MJ, Kuan TS, et al. Dry', None,
     "reference list entry (the title is the authors' own, not the clinic's claim)"),
    ('3. Yeganeh Lari A, Okhovatian F, Naimi SS,', None,
     'reference list entry'),
    ('4. Osborne NJ, Gatt IT. Management of shoulder', None,
     'reference list entry'),
    ('5. Sterling M, Vicenzino B, Souvlis T, Connelly', None,
     'reference list entry'),
]

# Floors guard against regressions; they are not targets.  Each sits MARGIN below the value measured
# last (MEASURED_*), so a lexicon edit that costs accuracy on this page fails here.
#
# The first measurement (FIRST_*) was held out: the rules had never been run on this page.  The
# rules were then changed after reading this page's errors (docs/audit.md, "Held-out evaluation"),
# so from then on this is a *development* page and MEASURED_* are in-sample figures.  An unbiased
# figure needs a fresh page; its test sits beside this one.
FIRST_PRECISION = 23 / 26             # 0.88
FIRST_RECALL = 23 / 49                # 0.47
FIRST_VERDICT_AGREEMENT = 17 / 23     # 0.74
# Re-measured after the rules of issue 14 (typed judge, subject and scope, statements about the
# evidence; docs/audit.md, "Issue 14"): before them 45/46, 45/49, 44/45.
MEASURED_PRECISION = 49 / 52          # 0.94: three neutral sentences flagged (all "supported")
MEASURED_RECALL = 49 / 49             # 1.00
MEASURED_VERDICT_AGREEMENT = 48 / 49  # 0.98
# 0.05 is about one or two sentences either way (1/46 flagged = 0.02, 2/49 = 0.04, 2/45 agreeing = 0.04):
# a change of one sentence through a harmless edit passes, a systematic loss does not.
MARGIN = 0.05
PRECISION_FLOOR = MEASURED_PRECISION - MARGIN
RECALL_FLOOR = MEASURED_RECALL - MARGIN
VERDICT_AGREEMENT_FLOOR = MEASURED_VERDICT_AGREEMENT - MARGIN


# A sentence ends at . ! or ? followed by a space and a capital (or an opening quote / bracket).
_SENTENCE_END = re.compile(r"[.!?][\"”’)]?\s+(?=[A-Z\"“(])")


def _positions(text: str) -> list[int]:
    return [text.index(prefix) for prefix, _v, _r in LABELS]


@pytest.fixture(scope="module")
def page():
    text, fmt = read_page(PAGE)
    return text, fmt


@pytest.fixture(scope="module")
def result(page):
    claims = real_claims()  # raises when evidence/ does not load: a failure
    text, fmt = page
    report = audit_text(text, claims, source_format=fmt, topics=EVIDENCE_DIR)
    return report, score_page(report.text, LABELS, report.findings, match="start")


def test_page_unchanged(page):
    text, fmt = page
    assert fmt == "text"
    assert hashlib.sha256(PAGE.read_bytes()).hexdigest() == PAGE_SHA256


def test_labels_cover_every_sentence_once(page):
    """Each prefix occurs once, in page order, and the labelled spans tile the page sentence by
    sentence, so no sentence is left unlabelled (reference entries are one unit each)."""
    text, _ = page
    for prefix, verdict, _why in LABELS:
        assert text.count(prefix) == 1, prefix
        assert verdict is None or verdict in VERDICTS, (prefix, verdict)
    starts = _positions(text)
    assert starts[0] == 0 and starts == sorted(starts)
    for (prefix, _v, _r), lo, hi in zip(LABELS, starts, starts[1:] + [len(text)]):
        unit = text[lo:hi].strip()
        assert "\n" not in unit, f"label {prefix!r} spans more than one line"
        if not re.match(r"\d+\. ", prefix):
            assert not _SENTENCE_END.search(unit), f"label {prefix!r} spans more than one sentence"


def test_offsets_exact(result):
    report, _m = result
    for f in report.findings:
        assert report.text[f.start:f.end] == f.text


def test_heldout_floors(result):
    _report, m = result
    print()
    print(f"held-out page: {len(LABELS)} sentences, {m.claims} labelled claims, "
          f"{m.flagged} flagged")
    print(f"precision {m.precision:.2f} ({m.tp}/{m.flagged})  "
          f"recall {m.recall:.2f} ({m.tp}/{m.claims})  "
          f"verdict agreement {m.verdict_agreement:.2f} ({m.agree}/{m.tp})")
    pp, gp, ep = m.problem_counts
    print(f"problem (not 'supported') detection: "
          f"precision {m.problem_precision:.2f} ({pp}/{gp})  "
          f"recall {m.problem_recall:.2f} ({pp}/{ep})")
    print(m.format_confusion())
    for i, expected, got in m.misses:
        print(f"  expected {str(expected):17} audit {str(got):17} {LABELS[i][0]}")
    for f in m.stray:
        print(f"  stray finding: {f.text!r}")
    assert m.precision >= PRECISION_FLOOR, m.precision
    assert m.recall >= RECALL_FLOOR, m.recall
    assert m.verdict_agreement >= VERDICT_AGREEMENT_FLOOR, m.verdict_agreement
