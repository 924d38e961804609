# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.format_version,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Certainty of the evidence, and the claims it allows
#
# For each review question, evidencekit rates how certain the evidence is, GRADE style: it starts
# from the study designs (randomised evidence starts high, other evidence low), then considers risk
# of bias, inconsistency, indirectness, imprecision and publication bias, and records a reason for
# every step, including the steps that did not change the level. The claim a patient leaflet may
# make follows from the rating: the wording ladder (GRADE guideline 26) allows plain "reduces" only
# at high certainty, "probably" at moderate, "may" at low, and at very low only "the evidence is
# very uncertain".
#
# **Settings.** The review team's decisions, as plain Python values: `overrides` set a GRADE
# domain's step instead of the rules' (0 not serious, -1 serious, -2 very serious), `exclude` leaves
# a study (or one `result` of it) out. Each needs a `reason` and `decided_by`; they are checked
# like the `decisions:` block of a question in `questions.yaml` (which is where decisions belong
# once agreed, so that `make run` applies them too), and every output below discloses them.

# %%
DECISIONS = {
    # "pain-short-term": {
    #     "overrides": {"imprecision": {"change": 0, "reason": "...", "decided_by": "the review team"}},
    #     "exclude": [{"study": "liu2015", "reason": "...", "decided_by": "the review team"}],
    # },
}

# %%
import pandas as pd
from IPython.display import Markdown

from evidencekit import (WORDING_LADDER, certainty_reasons, evidence_map, load_library,
                         make_claims, rate_all, render_leaflet, show, summary_of_findings,
                         with_decisions)

library = with_decisions(load_library("../evidence"), DECISIONS)
ratings = rate_all(library)
claims = make_claims(library, ratings)

# %% [markdown]
# ## 1. Summary of findings
#
# One row per question. `effect` is the estimate the claim rests on (with its 95% CI), or, where
# studies give only p-values or words, the count of studies pointing each way. The domain columns
# give the change each GRADE domain made: 0 considered and not rated down, −1 serious concerns,
# −2 very serious.

# %%
sof = summary_of_findings(ratings)
first = ["certainty", "title", "effect", "studies", "participants"]
sof = sof[first + [c for c in sof.columns if c not in first]]
sof.rename(columns=lambda c: c.replace("_", " ").capitalize())

# %% [markdown]
# Which kinds of study answer which question, and how many people took part:

# %%
show(evidence_map(library, certainty={qid: r.level for qid, r in ratings.items()}))

# %% [markdown]
# ## 2. Every step, with its reason

# %%
pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 250)
certainty_reasons(ratings)

# %% [markdown]
# One rating in full, with the notes on how the body of evidence was assembled (which results
# were used, which left out and why):

# %%
print(ratings["pain-short-term"].summary())

# %% [markdown]
# ## 3. The wording ladder

# %%
pd.DataFrame(WORDING_LADDER)[["strength", "certainty", "hedge", "benefit", "no_difference"]]

# %% [markdown]
# ## 4. The claims
#
# One claim per question, worded no more strongly than its certainty allows, with the caveats a
# reader needs and the records (study or study#result) it rests on.

# %%
claims.to_frame()

# %% [markdown]
# ## 5. Sensitivity analyses
#
# For each effect pooled here, the meta-analysis re-run the ways the Cochrane Handbook (10.14)
# asks: leaving out one study at a time (lowest and highest result), without studies at high risk
# of bias, the other model (common-effect or random-effects) and the other interval (Wald or
# Hartung-Knapp). A claim whose direction flips under one of them says so in its caveats. Effects
# taken from a review's own pooled result cannot be re-run here (their study data are not held).

# %%
rows = [{"Certainty": c.certainty, "Question": c.title, "Analysis": s["analysis"],
         "Estimate": s["estimate"], "95% CI from": s["ci_low"], "95% CI to": s["ci_high"],
         "Studies": s["k"]} for c in claims for s in c.sensitivity]
pd.DataFrame(rows)

# %% [markdown]
# Decisions by the review team, as every output discloses them (none unless set above or in
# `questions.yaml`):

# %%
pd.DataFrame([{"Question": c.title, "Decision": d} for c in claims for d in c.decisions],
             columns=["Question", "Decision"])

# %% [markdown]
# ## 6. The claims as they appear in the leaflet
#
# This is the Markdown the leaflet is built from (`make run` writes it, with the HTML and PDF,
# to `build/`).

# %%
Markdown(render_leaflet(claims, library, fmt="md"))
