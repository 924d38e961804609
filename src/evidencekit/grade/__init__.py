"""grade: how certain the evidence is for each question (GRADE), and the claims worded from it.

The data flow inside: :mod:`.body` (the study results a question points to) -> :mod:`.estimate`
(the estimate a claim rests on) -> the domains (:mod:`.study_domains`, :mod:`.effect_domains`,
:mod:`.frequencies`) and :mod:`.direction` -> :mod:`.certainty` (``rate_certainty``, a
:class:`~.rating.CertaintyRating`) -> :mod:`.claims` (``make_claims``: the sentence from
:mod:`.statements` on the :mod:`.ladder`, its size from :mod:`.effect_words`, its studies from
:mod:`.support`, its caveats from :mod:`.caveats`). The review team's decisions are read in
:mod:`.decisions` and applied and disclosed in :mod:`.disclosure`; :mod:`.comparisons` splits a
question by comparator kind. See docs/architecture.md and docs/claims.md.
"""
