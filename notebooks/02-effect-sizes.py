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
# # 02 · Effect sizes
#
# What the studies found, as numbers where the sources give numbers. Three kinds of result appear:
#
# - **effect estimates with a confidence interval**: a trial's own between-group difference, or a
#   systematic review's pooled result. Their standard errors follow from the CI (Cochrane Handbook
#   6.3.1), so they can be compared and, where the trials do not overlap, pooled;
# - **group means and SDs**: an effect size needs every arm's n as well;
# - **p-values or words only**: these give a direction, not a size, and are summarised by counting
#   directions (SWiM), never turned into invented effect sizes.
#
# Scales: MD is on the outcome's own scale (e.g. points on a 0-10 pain scale); SMD is in standard
# deviations (0.2 small, 0.5 moderate, 0.8 large); RR is a ratio. Negative MD/SMD means less pain or
# disability with dry needling.

# %%
import pandas as pd

from evidencekit import (arm_summary_effects, direction_summary, load_library,
                         plot_question_effects, question_effects, rate_all, reported_effects,
                         show)

pd.set_option("display.max_colwidth", 60)
pd.set_option("display.max_rows", 250)
library = load_library("../evidence")
ratings = rate_all(library)

# %% [markdown]
# ## 1. Per-study effect sizes: the trials' own comparisons

# %%
reported_effects(library, contrast="between-groups").round(3)

# %% [markdown]
# Group means and SDs (here from the whiplash trial, as a later review tabulated them). The number
# analysed per arm is not reported, so no effect size or CI is computed from them: the trial's own
# mean differences above are used instead.

# %%
arm_summary_effects(library).round(2)

# %% [markdown]
# ## 2. The systematic reviews' pooled results
#
# These reviews pooled trials that are not in the library one by one, and many of their trials
# overlap, so their results are not pooled with each other (that would count the same patients
# twice). `ci_asymmetry` flags printed intervals that do not fit their estimate.

# %%
reported_effects(library, contrast="review-pooled").round(3)

# %% [markdown]
# ## 3. The estimates behind each question
#
# For each question, the estimates in its body of evidence. `main` marks the estimate the claim
# rests on (notebook 03); the others were checked for consistency with it.

# %%
effects = {qid: question_effects(rating) for qid, rating in ratings.items()}
pd.concat(effects, names=["question"]).round(3)

# %% [markdown]
# The same estimates drawn per question (questions without any estimate are left out). There is no
# pooled diamond: the reviews' trials overlap, and the whiplash trial is one trial seen at four
# times.

# %%
show(plot_question_effects(ratings["pain-short-term"], library))

# %%
show(plot_question_effects(ratings["pain-immediate"], library))

# %%
show(plot_question_effects(ratings["whiplash-recovery"], library))

# %% [markdown]
# ## 4. Direction of effect where only p-values or words exist
#
# One vote per study (a study whose results for a question point different ways is `mixed`); the
# sign test compares the studies favouring dry needling with those favouring the comparator. Within-
# group changes (before vs after in one group) are not counted: they include natural recovery,
# regression to the mean and placebo effects.

# %%
direction_summary(ratings).round(4)

# %%
results = library.results_frame()
results[results["kind"].isin(["p-value", "narrative"])][
    ["study", "result", "kind", "contrast", "direction", "p_value", "p_relation", "statement"]]
