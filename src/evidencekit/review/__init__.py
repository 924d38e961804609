"""What the review notebooks show beyond the pipeline's own outputs, one concept per module.

- :mod:`.studies`: the evidence library as tables (studies, risk of bias, reporting, gaps);
- :mod:`.estimates`: the effect estimates a library reports or implies, and per question;
- :mod:`.findings`: a GRADE Summary-of-Findings table and the reasons for each rating;
- :mod:`.figures`: notebook figures (a Figure shown as PNG, a question's estimates, coverage).

The numbers-only notebook analyses live with the statistics: agreement with R metafor in
:mod:`evidencekit.stats.agreement`, the interval-coverage simulation in
:mod:`evidencekit.stats.coverage`. Notebooks import all of these from ``evidencekit`` itself.
Nothing here is used by the pipeline (library -> ... -> render); it sits beside the CLI, at the top.
"""
