# Reference values for the escalc measures beyond the first grid (RD, PR, PLO, PFT, PAS, COR, ZCOR,
# IRR, IR; RR/OR/RD from ai,n1i,ci,n2i with zero cells). Run from the repository root:
#   Rscript tests/data/metafor-escalc-extended.R > tests/data/metafor-escalc-extended.json
# Every call uses escalc's defaults (add = 1/2, to = "only0", drop00 = FALSE; add = 0 for PFT and
# PAS), so the JSON records what a user of metafor gets without options.
suppressMessages(library(metafor)); library(jsonlite)
cases <- list()
# the default random-effects fit of each case, rma(yi, vi) (REML), as `evidencekit pool` prints it
fit <- function(es) {
  r <- tryCatch(rma(yi, vi, data = es), error = function(e) NULL)
  if (is.null(r)) return(NULL)
  p <- predict(r)
  list(k = r$k, estimate = as.numeric(r$b), se = r$se, ci_low = r$ci.lb, ci_high = r$ci.ub,
       z = r$zval, p = r$pval, tau2 = r$tau2, i2 = r$I2, h2 = r$H2, q = r$QE, q_p = r$QEp,
       pi_low = p$pi.lb, pi_high = p$pi.ub)
}
add <- function(name, measure, inputs, es, call) {
  cases[[length(cases) + 1]] <<- list(name = name, measure = measure, call = call,
                                      inputs = as.list(inputs),
                                      yi = as.numeric(es$yi), vi = as.numeric(es$vi),
                                      rma_reml = fit(es))
}
d <- with(dat.bcg, data.frame(trial = trial, ai = tpos, bi = tneg, ci = cpos, di = cneg))
add("bcg_RD", "RD", d, escalc("RD", ai = ai, bi = bi, ci = ci, di = di, data = d),
    'escalc("RD", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)')
# dat.yusuf1985 table 9: single-zero and double-zero tables, given as events and group sizes
d <- dat.yusuf1985[dat.yusuf1985$table == "9", c("trial", "ai", "n1i", "ci", "n2i")]
for (m in c("RR", "OR", "RD")) {
  add(paste0("yusuf1985_t9_", m), m, d, escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d),
      sprintf('escalc("%s", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985, subset=table=="9")', m))
}
d <- dat.hine1989[, c("study", "ai", "n1i", "ci", "n2i")]
add("hine1989_RD", "RD", d, escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d),
    'escalc("RD", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.hine1989)')
# proportions: dat.pritz1997 has studies with xi = ni; a synthetic row adds xi = 0
d <- rbind(dat.pritz1997[, c("study", "xi", "ni")], data.frame(study = 99, xi = 0, ni = 15))
for (m in c("PR", "PLO", "PFT", "PAS")) {
  add(paste0("pritz1997_", m), m, d, escalc(m, xi = xi, ni = ni, data = d),
      sprintf('escalc("%s", xi=xi, ni=ni, data=rbind(dat.pritz1997, xi=0/ni=15))', m))
}
d <- dat.molloy2014[, c("authors", "ri", "ni")]
for (m in c("COR", "ZCOR")) {
  add(paste0("molloy2014_", m), m, d, escalc(m, ri = ri, ni = ni, data = d),
      sprintf('escalc("%s", ri=ri, ni=ni, data=dat.molloy2014)', m))
}
d <- dat.hart1999[, c("study", "x1i", "t1i", "x2i", "t2i")]
add("hart1999_IRR", "IRR", d, escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d),
    'escalc("IRR", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=dat.hart1999)')
d2 <- data.frame(study = d$study, xi = d$x1i, ti = d$t1i)
add("hart1999_IR", "IR", d2, escalc("IR", xi = xi, ti = ti, data = d2),
    'escalc("IR", xi=x1i, ti=t1i, data=dat.hart1999)')
d3 <- data.frame(study = c("a", "b", "c", "d"), x1i = c(0, 3, 5, 0), t1i = c(120, 80, 200, 50),
                 x2i = c(2, 0, 7, 0), t2i = c(110, 90, 210, 60))
add("synthetic_zero_IRR", "IRR", d3, escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d3),
    'escalc("IRR", x1i, t1i, x2i, t2i) on four synthetic studies with zero counts')
d4 <- data.frame(study = c("a", "b"), xi = c(0, 4), ti = c(100, 80))
add("synthetic_zero_IR", "IR", d4, escalc("IR", xi = xi, ti = ti, data = d4),
    'escalc("IR", xi, ti) on two synthetic studies, one with zero events')
cat(toJSON(list(source = paste("R metafor", packageVersion("metafor")), cases = cases),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", dataframe = "columns"))
