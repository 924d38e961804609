#!/bin/sh
# Recreates this example evidence folder from source/dat-bcg.csv with the five commands a reviewer
# uses for any new review: new, import, validate, claims, build. Run from anywhere:
#   sh examples/bcg-vaccine/make.sh            (EVIDENCEKIT=path/to/evidencekit to choose one)
# The folder is made in a temporary directory first (`new` refuses a folder that is not empty),
# then its files replace review.yaml, references.bib, questions.yaml and studies/ here.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
EK=${EVIDENCEKIT:-evidencekit}
OUT=${OUT:-build/bcg-vaccine}   # relative to where it is run; never inside the evidence folder
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
NEW=$WORK/bcg-vaccine

# 1. new: a skeleton folder that validate accepts
"$EK" new "$NEW" --intervention "BCG vaccination" \
    --title "BCG vaccination against tuberculosis: what the research says"

# The review settings are the reviewer's to write; here they are filled in honestly for a
# worked example (no literature search was run: the trials are metafor's data set).
cat > "$NEW/review.yaml" <<'YAML'
# Review settings of this worked example (see README.md): not clinical advice.
intervention: BCG vaccination
intervention_subject: BCG vaccination
title: 'BCG vaccination against tuberculosis: what the research says'
audience: people who want to see how evidencekit reports a review (a worked example)
authors: [evidencekit example]
conflicts: none
# No literature search was run: the 13 trials are R metafor's data set dat.bcg (Colditz et al.
# 1994, JAMA 271(9):698-702), taken on this date.
search_date: 2026-12-01
review_date: 2026-12-01
contact: null
clinician: your doctor or nurse
outcome_domains: [infection, adverse-events, other]
characteristics: {}
YAML

# 2. import: one study record per row of the CSV, and the question they answer
"$EK" import "$HERE/source/dat-bcg.csv" --evidence "$NEW" --question tb --measure RR \
    --outcome tuberculosis --population "people in trials of the BCG vaccine" \
    --lower-is-better --comparator "no vaccine"

# The words a patient page uses for this question, so that `evidencekit audit --evidence` judges
# a sentence about the vaccine against it (a reviewer adds them to questions.yaml by hand;
# re-importing keeps them).
sed -i.bak 's/^  better: lower$/  better: lower\
  topics:\
  - tuberculosis\
  - TB\
  - BCG\
  - vaccine\
  - vaccination/' "$NEW/questions.yaml"
rm -f "$NEW/questions.yaml.bak"

# 3. validate, 4. claims
"$EK" validate "$NEW"
"$EK" claims --evidence "$NEW"

rm -rf "$HERE/studies"
cp -R "$NEW/studies" "$HERE/studies"
cp "$NEW/review.yaml" "$NEW/references.bib" "$NEW/questions.yaml" "$NEW/TEMPLATE.yaml.example" \
    "$HERE/"

# 5. build: leaflet, clinician and citation summaries, claims.json, figures
"$EK" build --evidence "$HERE" --out "$OUT"
