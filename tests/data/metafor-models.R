# Reference values beyond rma.uni's intercept-only fit: Mantel-Haenszel and Peto (rma.mh, rma.peto),
# subgroups (a separate tau² per subgroup, RevMan style, and the test for subgroup differences),
# meta-regression (rma with mods), Egger's test as regtest()'s default (model = "rma"), trim-and-fill
# on the fitted random-effects model, influence() and cumul(). Run from the repository root:
#   Rscript tests/data/metafor-models.R > tests/data/metafor-models.json
# Every call uses metafor's defaults unless the call string says otherwise.
suppressMessages(library(metafor)); library(jsonlite)
num <- function(x) as.numeric(x)
fit_summary <- function(r) list(estimate = num(r$beta[1]), se = num(r$se[1]), ci_low = num(r$ci.lb[1]),
                                ci_high = num(r$ci.ub[1]), z = num(r$zval[1]), p = num(r$pval[1]),
                                tau2 = num(r$tau2), i2 = num(r$I2), h2 = num(r$H2), q = num(r$QE),
                                q_p = num(r$QEp), k = r$k)
bcg <- with(dat.bcg, data.frame(trial = trial, author = author, year = year, ai = tpos, bi = tneg,
                                ci = cpos, di = cneg, ablat = ablat, alloc = alloc))
yusuf <- dat.yusuf1985[dat.yusuf1985$table == "9" & !is.na(dat.yusuf1985$ai),
                       c("trial", "ai", "n1i", "ci", "n2i")]
collins <- with(dat.collins1985a, data.frame(trial = trial, ai = b.xti, n1i = nti, ci = b.xci, n2i = nci))
bd <- dat.bangertdrowns2004[, c("author", "yi", "vi", "length", "imag", "grade", "wic")]

out <- list(source = paste("R metafor", packageVersion("metafor")), mh = list(), peto = list(),
            subgroups = list(), metareg = list(), egger = list(), trimfill = list(),
            influence = list(), cumul = list())

# --- Mantel-Haenszel and Peto -------------------------------------------------------------------
tables <- function(fun, d, ...) {
  if ("bi" %in% names(d)) fun(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, ...)
  else fun(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, ...)
}
mh_case <- function(name, d, measure, call) {
  r <- tables(rma.mh, d, measure = measure)
  out$mh[[length(out$mh) + 1]] <<- c(list(name = name, measure = measure, call = call,
                                          inputs = as.list(d)), fit_summary(r),
                                     list(k_yi = r$k.yi, weights = num(weights(r))))
}
for (m in c("OR", "RR", "RD")) {
  mh_case(paste0("bcg_MH_", m), bcg[, c("trial", "ai", "bi", "ci", "di")], m,
          sprintf('rma.mh(measure="%s", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)', m))
  mh_case(paste0("yusuf1985_t9_MH_", m), yusuf, m,
          sprintf('rma.mh(measure="%s", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985, subset=table=="9")', m))
}
peto_case <- function(name, d, call) {
  r <- tables(rma.peto, d)
  out$peto[[length(out$peto) + 1]] <<- c(list(name = name, measure = "OR", call = call,
                                              inputs = as.list(d)), fit_summary(r),
                                         list(k_yi = r$k.yi, weights = num(weights(r))))
}
peto_case("bcg_PETO", bcg[, c("trial", "ai", "bi", "ci", "di")],
          'rma.peto(ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)')
peto_case("yusuf1985_t9_PETO", yusuf, 'rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985, subset=table=="9")')
peto_case("collins1985a_PETO", collins, 'rma.peto(ai=b.xti, n1i=nti, ci=b.xci, n2i=nci, data=dat.collins1985a)')

# --- subgroups: one rma() per level (its own tau²), then the FE test of the subgroup estimates ---
sub_case <- function(name, measure, yi, vi, group, inputs, method, test, call) {
  levs <- unique(as.character(group[!is.na(group)]))
  per <- list(); est <- c(); se <- c()
  for (l in levs) {
    r <- rma(yi, vi, subset = (group == l), method = method, test = test)
    per[[length(per) + 1]] <- list(level = l, k = r$k, estimate = num(r$beta), se = num(r$se),
                                   ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
                                   tau2 = num(r$tau2), i2 = num(r$I2))
    est <- c(est, num(r$beta)); se <- c(se, num(r$se))
  }
  qb <- rma(est, sei = se, method = "FE")
  overall <- rma(yi, vi, method = method, test = test)
  out$subgroups[[length(out$subgroups) + 1]] <<- list(
    name = name, measure = measure, method = method, ci = ifelse(test == "knha", "hksj", "wald"),
    call = call, inputs = inputs, subgroups = per, q_between = num(qb$QE), q_between_df = length(levs) - 1,
    q_between_p = num(qb$QEp), overall = fit_summary(overall))
}
es <- escalc("RR", ai = ai, bi = bi, ci = ci, di = di, data = bcg)
sub_case("bcg_RR_by_alloc_REML", "RR", es$yi, es$vi, bcg$alloc, as.list(bcg), "REML", "z",
         'per level of alloc: rma(yi, vi, subset=alloc==level); rma(estimates, sei=se, method="FE")$QE')
sub_case("bcg_RR_by_alloc_DL", "RR", es$yi, es$vi, bcg$alloc, as.list(bcg), "DL", "z",
         'as bcg_RR_by_alloc_REML with method="DL"')
sub_case("bcg_RR_by_alloc_REML_knha", "RR", es$yi, es$vi, bcg$alloc, as.list(bcg), "REML", "knha",
         'as bcg_RR_by_alloc_REML with test="knha"')
sub_case("bangertdrowns2004_by_grade_REML", "GEN", bd$yi, bd$vi, bd$grade, as.list(bd), "REML", "z",
         'per level of grade: rma(yi, vi, subset=grade==level); rma(estimates, sei=se, method="FE")$QE')

# --- meta-regression ---------------------------------------------------------------------------
reg_case <- function(name, measure, yi, vi, X, inputs, method, test, call) {
  r <- rma(yi, vi, mods = X, method = method, test = test)
  coefs <- list()
  nm <- c("intrcpt", colnames(X))
  for (j in seq_along(r$beta)) coefs[[j]] <- list(name = nm[j], estimate = num(r$beta[j]),
      se = num(r$se[j]), ci_low = num(r$ci.lb[j]), ci_high = num(r$ci.ub[j]), z = num(r$zval[j]),
      p = num(r$pval[j]))
  out$metareg[[length(out$metareg) + 1]] <<- list(
    name = name, measure = measure, method = method, ci = ifelse(test == "knha", "hksj", "wald"),
    call = call, inputs = inputs, moderators = colnames(X), k = r$k, coefficients = coefs,
    qm = num(r$QM), qm_df = num(r$QMdf), qm_p = num(r$QMp), r2 = if (is.null(r$R2)) NA else num(r$R2),
    tau2 = num(r$tau2), i2 = num(r$I2), h2 = num(r$H2), qe = num(r$QE), qe_p = num(r$QEp))
}
Xb <- cbind(ablat = bcg$ablat, year = bcg$year)
for (m in c("REML", "ML", "DL", "FE")) {
  reg_case(paste0("bcg_RR_ablat_year_", m), "RR", es$yi, es$vi, Xb, as.list(bcg), m, "z",
           sprintf('rma(yi, vi, mods = ~ ablat + year, method="%s", data=escalc("RR", ...dat.bcg))', m))
}
reg_case("bcg_RR_ablat_year_REML_knha", "RR", es$yi, es$vi, Xb, as.list(bcg), "REML", "knha",
         'rma(yi, vi, mods = ~ ablat + year, method="REML", test="knha")')
keep <- !is.na(bd$length)
Xd <- cbind(length = bd$length[keep], imag = bd$imag[keep])
reg_case("bangertdrowns2004_length_imag_REML", "GEN", bd$yi[keep], bd$vi[keep], Xd, as.list(bd), "REML", "z",
         'rma(yi, vi, mods = ~ length + imag, data=dat.bangertdrowns2004) (2 rows with length NA omitted)')

# --- Egger (regtest default: rma model, sei as predictor, the model's test) and trim-and-fill ----
ok <- function(f) tryCatch(f, error = function(e) NULL)
bias_data <- list(
  bcg_RR = list(yi = num(es$yi), vi = num(es$vi), measure = "RR"),
  hackshaw1998_OR = list(yi = num(dat.hackshaw1998$yi), vi = num(dat.hackshaw1998$vi), measure = "OR"),
  bangertdrowns2004 = list(yi = num(bd$yi), vi = num(bd$vi), measure = "GEN"),
  molloy2014_ZCOR = list(yi = num(escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)$yi),
                         vi = num(escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)$vi), measure = "ZCOR"))
for (nm in names(bias_data)) {
  d <- bias_data[[nm]]
  for (m in c("REML", "DL", "FE")) {
    fit <- rma(d$yi, d$vi, method = m)
    eg <- regtest(fit)
    out$egger[[length(out$egger) + 1]] <- list(name = paste0(nm, "_", m), measure = d$measure, method = m,
      call = sprintf('regtest(rma(yi, vi, method="%s"))', m), yi = d$yi, vi = d$vi,
      z = num(eg$zval), p = num(eg$pval), limit_estimate = num(eg$est), model = eg$model, predictor = eg$predictor)
    tf <- trimfill(fit)
    out$trimfill[[length(out$trimfill) + 1]] <- list(name = paste0(nm, "_", m), measure = d$measure, method = m,
      call = sprintf('trimfill(rma(yi, vi, method="%s"))', m), yi = d$yi, vi = d$vi, k0 = tf$k0,
      side = tf$side, estimate = num(tf$beta), se = num(tf$se), ci_low = num(tf$ci.lb), ci_high = num(tf$ci.ub),
      tau2 = num(tf$tau2))
  }
}

# --- influence() and cumul() ---------------------------------------------------------------------
md <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
infl_data <- list(bcg_RR = list(yi = num(es$yi), vi = num(es$vi)),
                  normand1999_MD = list(yi = num(md$yi), vi = num(md$vi)),
                  hackshaw1998_OR = bias_data$hackshaw1998_OR)
for (nm in names(infl_data)) {
  d <- infl_data[[nm]]
  for (m in c("REML", "DL", "FE")) {
    fit <- rma(d$yi, d$vi, method = m)
    inf <- influence(fit)$inf
    out$influence[[length(out$influence) + 1]] <- list(name = paste0(nm, "_", m), method = m,
      call = sprintf('influence(rma(yi, vi, method="%s"))', m), yi = d$yi, vi = d$vi,
      rstudent = num(inf$rstudent), dffits = num(inf$dffits), cook_d = num(inf$cook.d),
      cov_r = num(inf$cov.r), tau2_del = num(inf$tau2.del), qe_del = num(inf$QE.del), hat = num(inf$hat),
      weight = num(inf$weight), dfbetas = num(dfbetas(fit)[[1]]))
    cu <- cumul(fit)
    out$cumul[[length(out$cumul) + 1]] <- list(name = paste0(nm, "_", m), method = m,
      call = sprintf('cumul(rma(yi, vi, method="%s"))', m), yi = d$yi, vi = d$vi,
      estimate = num(cu$estimate), se = num(cu$se), ci_low = num(cu$ci.lb), ci_high = num(cu$ci.ub),
      z = num(cu$zval), p = num(cu$pval), q = num(cu$Q), q_p = num(cu$Qp), tau2 = num(cu$tau2),
      i2 = num(cu$I2), h2 = num(cu$H2))
  }
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", dataframe = "columns"))
