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
# # 04 · Auditing a patient page
#
# Clinics publish pages about dry needling that cite studies. The audit reads such a page sentence
# by sentence, finds the sentences that make a health claim, and judges each against the claims the
# evidence allows (notebook 03), using the same wording ladder:
#
# | verdict | meaning |
# | --- | --- |
# | `supported` | no stronger than the certainty of the evidence allows |
# | `overstated` | the right direction, but worded more strongly than the evidence allows |
# | `unsupported` | no study in the library answers it |
# | `contradicted` | the evidence points the other way (e.g. a benefit where trials found none) |
# | `mechanism-as-fact` | an unproven explanation of how it works, stated as fact |
#
# The page audited here is a sample clinic page kept with the tests
# (`tests/data/samples/patient-page-dry-needling.txt`).

# %%
import pandas as pd

from evidencekit import audit_text, load_library, make_claims, read_page

library = load_library("../evidence")
claims = make_claims(library)
page, page_format = read_page("../tests/data/samples/patient-page-dry-needling.txt")
report = audit_text(page, claims, topics="../evidence", source_format=page_format)
print(f"{report.sentences} sentences read, {len(report.findings)} health claims, "
      f"{report.not_supported} not supported by the evidence")

# %%
pd.Series(report.counts(), name="sentences").to_frame()

# %% [markdown]
# ## 1. Sentence by sentence
#
# Each health claim in page order: the verdict, why, and a rewrite that says no more than the
# evidence supports. `evidence` names the records (study#result) and `questions` the review questions
# the sentence was judged against; `line` is the line of the page it starts on.

# %%
pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 250)
findings = report.to_frame()
findings[["line", "verdict", "text", "reason", "suggestion"]]

# %%
findings[["line", "verdict", "questions", "evidence", "strength", "allowed"]]

# %% [markdown]
# ## 2. The report as the command line prints it
#
# `evidencekit audit tests/data/samples/patient-page-dry-needling.txt` prints the same findings;
# `--format json` gives them to scripts and `--format html` as a page with the sentences marked.

# %%
print(report.summary())
