# Writes dat-bcg.csv, the table `evidencekit import` reads, from R metafor's data set dat.bcg
# (13 trials of the BCG vaccine against tuberculosis). Run from this folder:  Rscript make-csv.R
#
# Source, as the data set's documentation (help(dat.bcg, package = "metadat")) cites it:
#   Colditz GA, Brewer TF, Berkey CS, Wilson ME, Burdick E, Fineberg HV, Mosteller F (1994).
#   Efficacy of BCG vaccine in the prevention of tuberculosis: meta-analysis of the published
#   literature. JAMA 271(9), 698-702.
# Columns keep metafor's names for a 2x2 table: ai/bi = vaccinated with/without tuberculosis,
# ci/di = not vaccinated with/without tuberculosis (dat.bcg's tpos, tneg, cpos, cneg).
suppressMessages(library(metafor))
d <- dat.bcg
key <- function(author, year) {
  # first author's surname (letters only) + year, as in a reference list
  paste0(tolower(gsub("[^A-Za-z]", "", sub("[ ,&].*", "", author))), year)
}
keys <- key(d$author, d$year)
stopifnot(!anyDuplicated(keys))
out <- data.frame(study = keys, author = gsub(",", "", d$author), year = d$year,
                  # alternate or systematic allocation is not randomisation: such trials are
                  # imported as non-randomised comparisons, and dat.bcg's alloc column is kept
                  design = ifelse(d$alloc == "random", "rct", "non-randomised"),
                  alloc = d$alloc, ai = d$tpos, bi = d$tneg, ci = d$cpos, di = d$cneg)
write.csv(out, "dat-bcg.csv", row.names = FALSE, quote = FALSE)
cat(sprintf("wrote dat-bcg.csv: %d trials (metafor %s)\n", nrow(out), packageVersion("metafor")))
