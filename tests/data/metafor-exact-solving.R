# How far metafor's default stopping rules leave tau² from the exact solution, on its bundled data
# sets (docs/methods.md quotes the maxima). Run: Rscript tests/data/metafor-exact-solving.R
suppressMessages(library(metafor)); library(jsonlite)
sets <- list(
  bcg_RR = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
  bcg_OR = escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
  normand1999_MD = escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999),
  normand1999_SMD = escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999),
  hackshaw1998 = dat.hackshaw1998,
  bangertdrowns2004 = dat.bangertdrowns2004,
  molloy2014_ZCOR = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
  pritz1997_PLO = escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997),
  hart1999_IRR = escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dat.hart1999),
  hine1989_RD = escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989),
  collins1985a_OR = escalc("OR", ai = b.xti, n1i = nti, ci = b.xci, n2i = nci, data = dat.collins1985a),
  yusuf1985_t9_OR = escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.yusuf1985, subset = table == "9"),
  raudenbush1985 = dat.raudenbush1985,
  mcdaniel1994_ZCOR = escalc("ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994),
  linde2005_RR = escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.linde2005),
  li2007_OR = escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007),
  pagliaro1992_PLO = escalc("PLO", xi = xi, ni = ni, data = dat.pagliaro1992))
out <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  row <- list(name = nm)
  for (m in c("PM", "REML", "ML")) {
    a <- tryCatch(rma(yi, vi, data = d, method = m)$tau2, error = function(e) NA)
    ctl <- if (m == "PM") list(tol = 1e-13) else list(threshold = 1e-13, maxiter = 10000)
    b <- tryCatch(rma(yi, vi, data = d, method = m, control = ctl)$tau2, error = function(e) NA)
    row[[paste0(m, "_default")]] <- a
    row[[paste0(m, "_exact")]] <- b
    row[[paste0(m, "_rel")]] <- if (is.na(a) || is.na(b) || b == 0) NA else abs(a - b) / b
  }
  out[[length(out) + 1]] <- row
}
cat(toJSON(list(source = paste("R metafor", packageVersion("metafor")), sets = out), digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null"))
