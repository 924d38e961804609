# Five reviews on other topics, from R metafor's bundled data sets, and metafor's REML fits of them.
# Run from this folder:  Rscript make-reviews.R
# Writes <name>/studies.csv (the table `evidencekit import` reads) and metafor-reviews.json (the
# values tests/test_reviews.py compares with). The project's tests only read the files; they never
# need R. Sources: metafor's data sets (Viechtbauer 2010, J Stat Softw 36(3); metadat package).
suppressMessages(library(metafor))
library(jsonlite)

key <- function(author, year) {
  k <- paste0(tolower(gsub("[^A-Za-z]", "", sub("[ ,&].*", "", author))), year)
  # the same first author and year twice: a, b, ... as in reference lists
  dup <- duplicated(k) | duplicated(k, fromLast = TRUE)
  k[dup] <- paste0(k[dup], ave(k[dup], k[dup], FUN = function(x) letters[seq_along(x)]))
  k
}
write_csv <- function(d, name) {
  dir.create(name, showWarnings = FALSE)
  write.csv(d, file.path(name, "studies.csv"), row.names = FALSE, quote = FALSE)
}
fit_values <- function(res, res_wald, measure, transf, egger = NULL, extra = list()) {
  pr <- predict(res, transf = transf)
  c(list(measure = measure, k = res$k,
         estimate = res$beta[[1]], ci_low = res$ci.lb, ci_high = res$ci.ub,
         wald_ci_low = res_wald$ci.lb, wald_ci_high = res_wald$ci.ub,
         tau2 = res$tau2, i2 = res$I2, pi_low = pr$pi.lb, pi_high = pr$pi.ub,
         natural_estimate = pr$pred, natural_ci_low = pr$ci.lb, natural_ci_high = pr$ci.ub,
         egger_p = if (is.null(egger)) NULL else egger$pval,
         call = "rma(yi, vi, method = 'REML', test = 'knha'); predict(transf = ...)"), extra)
}
out <- list(metafor_version = as.character(packageVersion("metafor")),
            r_version = R.version.string)

# 1. BCG vaccine against tuberculosis: risk ratios from 2x2 tables, I² above 90 %.
d <- dat.bcg
bcg <- data.frame(study = key(d$author, d$year), author = gsub(",", "", d$author), year = d$year,
                  design = "rct", ai = d$tpos, bi = d$tneg, ci = d$cpos, di = d$cneg)
write_csv(bcg, "bcg")
es <- escalc("RR", ai = ai, bi = bi, ci = ci, di = di, data = bcg)
out$bcg <- fit_values(rma(yi, vi, data = es, test = "knha"), rma(yi, vi, data = es), "RR", exp,
                      regtest(rma(yi, vi, data = es), model = "lm"))

# 2. Specialist vs routine care for stroke, length of hospital stay (days): a mean difference
#    whose CI crosses zero.
d <- dat.normand1999
# Keys from the trial's name in the data set (no year is given there, and none is invented).
stroke <- data.frame(study = tolower(gsub("[^A-Za-z]+", "-", d$source)),
                     author = gsub(",", "", d$source), year = "", design = "rct",
                     m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i, m2i = d$m2i, sd2i = d$sd2i,
                     n2i = d$n2i)
write_csv(stroke, "stroke-los")
es <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = stroke)
out[["stroke-los"]] <- fit_values(rma(yi, vi, data = es, test = "knha"), rma(yi, vi, data = es),
                                  "MD", NULL)

# 3. A smoking spouse and lung cancer in non-smoking women: observational odds ratios with
#    their printed 95 % CIs (cohort and case-control studies).
d <- dat.hackshaw1998
smoke <- data.frame(study = key(d$author, d$year), author = d$author, year = d$year,
                    design = ifelse(d$design == "cohort", "cohort", "case-control"),
                    estimate = d$or, ci_low = d$or.lb, ci_high = d$or.ub)
write_csv(smoke, "passive-smoking")
yi <- log(smoke$estimate)
sei <- (log(smoke$ci_high) - log(smoke$ci_low)) / (2 * qnorm(0.975))
out[["passive-smoking"]] <- fit_values(rma(yi, sei = sei, test = "knha"), rma(yi, sei = sei), "OR",
                                       exp, regtest(rma(yi, sei = sei), model = "lm"))

# 4. Intravenous magnesium after myocardial infarction, death: risk ratios with zero cells and
#    a skewed funnel (Egger et al. 2001).
d <- dat.egger2001
mg <- data.frame(study = key(d$study, d$year), author = d$study, year = d$year, design = "rct",
                 ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
write_csv(mg, "magnesium")
es <- escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = mg)
out$magnesium <- fit_values(rma(yi, vi, data = es, test = "knha"), rma(yi, vi, data = es), "RR",
                            exp, regtest(rma(yi, vi, data = es), model = "lm"),
                            list(zero_cell_studies = sum(mg$ai == 0 | mg$ci == 0)))

# 5. Hyperdynamic therapy for cerebral vasospasm: single-arm proportions of patients who
#    improved (case series), pooled as logits.
d <- dat.pritz1997
# Keys from the first author and the row number (the data set gives no years; none is invented).
vaso <- data.frame(study = paste0(tolower(gsub("[^A-Za-z]", "", sub("[ ,&].*", "", d$authors))),
                                  "-", d$study), author = d$authors,
                   year = "", design = "case-series", xi = d$xi, ni = d$ni)
write_csv(vaso, "vasospasm")
es <- escalc("PLO", xi = xi, ni = ni, data = vaso)
out$vasospasm <- fit_values(rma(yi, vi, data = es, test = "knha"), rma(yi, vi, data = es), "PLO",
                            transf.ilogit)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "metafor-reviews.json")
