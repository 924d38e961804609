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
# # 01 · The evidence library
#
# Every study this review relies on is a typed record in `evidence/studies/` (one YAML file per
# study, keyed by its BibTeX entry in `evidence/references.bib`). Every number in a record carries
# its provenance: the source address and a short verbatim quote. What a source does not give is
# recorded as *not reported*, never estimated.
#
# This notebook shows the records as tables: what kind of studies they are, how at risk of bias,
# what they measured, which results come as usable numbers and which only as p-values or words,
# and what is missing.

# %%
import pandas as pd

from evidencekit import (load_library, missing_table, reporting_table, risk_of_bias_domains,
                         risk_of_bias_plot, show, study_table, validate_evidence)

pd.set_option("display.max_colwidth", 90)
pd.set_option("display.max_rows", 250)
library = load_library("../evidence")
print(f"{len(library.studies)} studies, {len(library.questions)} questions, "
      f"{len(library.references)} references")

# %% [markdown]
# ## 1. The studies
#
# Systematic reviews report pooled results of trials that are not in this library one by one;
# primary studies (trials, case series) report their own participants; animal studies and narrative
# reviews inform only the question of how dry needling might work.

# %%
studies = study_table(library)
studies

# %%
pd.crosstab(studies["design"], studies["risk_of_bias"], margins=True, margins_name="total")

# %% [markdown]
# ## 2. Risk of bias
#
# Each record states the tool used (RoB 2 for trials, a review-level appraisal for systematic
# reviews, none for case reports and narrative reviews) and a reason for every judgement, domain by
# domain where the sources allow it, and overall.

# %%
show(risk_of_bias_plot(library))

# %%
risk_of_bias_domains(library)

# %% [markdown]
# ## 3. What was measured

# %%
library.outcomes_frame()

# %% [markdown]
# ## 4. What is reported, and in which form
#
# Only two forms of result give an effect size that can be pooled or compared: group means with
# SDs and n for every arm (`arm-summary`), and an effect estimate with its confidence interval or
# standard error (`effect-estimate`). A p-value alone gives a direction; a sentence gives less.
# `numbers` counts the results in a usable form; `inferred` and `secondary` count results that rest
# on the reviewers' inference or were seen only in another paper (both are flagged wherever the
# result is used).

# %%
reporting_table(library)

# %%
report = validate_evidence("../evidence")
print(f"numbers in the records: {report.numbers}, with provenance: {report.numbers_with_provenance}")
print(f"validation: {len(report.errors)} errors, {len(report.warnings)} warnings "
      "(run `evidencekit validate` for the full list)")

# %% [markdown]
# ## 5. What is missing
#
# Everything the reviewers looked for and did not find, with where they looked. These gaps are why
# several questions can only be answered with low or very low certainty (notebook 03).

# %%
missing_table(library)

# %% [markdown]
# ## 6. The review questions
#
# Each question names the studies (and results) that answer it; notebook 02 computes and pools their
# effects, notebook 03 rates the certainty and writes the claims.

# %%
library.questions_frame()[["title", "kind", "outcome", "time_window", "studies", "study_keys"]]
