# Reference values for tests/test_sensitivity.py, from R metafor. Regenerate with
#   Rscript tests/data/sensitivity-reference.R > tests/data/sensitivity-reference.json
# Each entry is one sensitivity analysis that evidencekit.sensitivity runs, fitted by metafor.
suppressMessages(library(metafor)); library(jsonlite)
fit <- function(r) list(estimate=r$b[1], ci_low=r$ci.lb, ci_high=r$ci.ub, k=r$k)
analyses <- function(yi, vi, high_risk=NULL) {
  out <- list()
  out$REML_wald <- fit(rma(yi, vi, method="REML"))
  out$REML_hksj <- fit(rma(yi, vi, method="REML", test="knha"))
  out$FE_wald <- fit(rma(yi, vi, method="FE"))
  out$FE_hksj <- fit(rma(yi, vi, method="FE", test="knha"))
  l1 <- leave1out(rma(yi, vi, method="REML"))
  out$REML_wald_leave1out <- list(estimate=as.numeric(l1$estimate), ci_low=as.numeric(l1$ci.lb),
                                  ci_high=as.numeric(l1$ci.ub))
  if (!is.null(high_risk)) {
    out$REML_wald_low_risk_only <- fit(rma(yi[!high_risk], vi[!high_risk], method="REML"))
  }
  out
}
cases <- list()

# BCG vaccine trials (metafor's dat.bcg), log risk ratios; "high risk of bias" here means a trial
# that did not allocate at random (alternate or systematic allocation).
d <- dat.bcg
es <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=d)
hr <- d$alloc != "random"
cases$bcg_RR <- list(measure="RR", labels=paste(d$author, d$year), yi=as.numeric(es$yi),
                     vi=as.numeric(es$vi), high_risk=hr,
                     results=analyses(as.numeric(es$yi), as.numeric(es$vi), hr))

# Pre-post standardised mean changes: studies B and D do not report their correlation; the sweep
# assumes 0.2, 0.5 and 0.8 for them and keeps the others' reported values.
d <- data.frame(study=c("A","B","C","D","E","F"), m_pre=c(6.1,5.4,7.2,4.8,6.6,5.9),
                sd_pre=c(1.4,1.9,1.1,2.2,1.6,1.3), m_post=c(3.9,4.6,4.1,3.9,3.2,5.1),
                sd_post=c(1.8,2.1,1.9,2.0,1.7,1.5), ni=c(14,30,22,60,18,40),
                ri_reported=c(0.55,NA,0.62,NA,0.50,0.70))
for (measure in c("SMCR", "SMCC")) {
  sweep <- list()
  for (r in c(0.2, 0.5, 0.8)) {
    # not named `ri`: escalc would read a column of that name from `data` instead
    r_used <- ifelse(is.na(d$ri_reported), r, d$ri_reported)
    es <- if (measure == "SMCR") {
      escalc("SMCR", m1i=m_post, m2i=m_pre, sd1i=sd_pre, ni=ni, ri=r_used, data=d)
    } else {
      escalc("SMCC", m1i=m_post, m2i=m_pre, sd1i=sd_post, sd2i=sd_pre, ni=ni, ri=r_used, data=d)
    }
    sweep[[sprintf("%.1f", r)]] <- list(REML_wald=fit(rma(es$yi, es$vi, method="REML")),
                                        REML_hksj=fit(rma(es$yi, es$vi, method="REML", test="knha")))
  }
  cases[[paste0("prepost_", measure)]] <- list(measure=measure, inputs=d, sweep=sweep)
}

cat(toJSON(list(source=paste("R", getRversion(), "metafor", packageVersion("metafor")),
                cases=cases),
           digits=NA, auto_unbox=TRUE, pretty=TRUE, na="null", dataframe="columns"))
