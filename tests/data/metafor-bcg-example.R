# metafor's REML + Knapp-Hartung fit of the bundled example review examples/bcg-vaccine (dat.bcg,
# risk ratios). Run from this folder:  Rscript metafor-bcg-example.R
# Writes metafor-bcg-example.json, which tests/test_examples.py compares the built claims.json with.
# It reads the example's own CSV, so the reference is the same table the review imports.
suppressMessages(library(metafor))
library(jsonlite)
d <- read.csv(file.path("..", "..", "examples", "bcg-vaccine", "source", "dat-bcg.csv"))
es <- escalc("RR", ai = ai, bi = bi, ci = ci, di = di, data = d)
res <- rma(yi, vi, data = es, method = "REML", test = "knha")
pr <- predict(res, transf = exp)
out <- list(metafor_version = as.character(packageVersion("metafor")),
            r_version = R.version.string,
            call = "rma(yi, vi, method = 'REML', test = 'knha'); predict(res, transf = exp)",
            measure = "RR", k = res$k, log_estimate = res$beta[[1]], tau2 = res$tau2, i2 = res$I2,
            estimate = pr$pred, ci_low = pr$ci.lb, ci_high = pr$ci.ub,
            pi_low = pr$pi.lb, pi_high = pr$pi.ub)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "metafor-bcg-example.json")
