"""LaTeX decoding of BibTeX values stays linear and bounded: time each input at n and 10n.

    .venv/bin/python benchmarks/bench_latex.py

For each case the ratio t(10n) / t(n) is printed from one run on one machine (linear gives about
10). ``pylatexenc`` is the raw decoder on one value of that size; ``latex_to_text`` is what
evidencekit calls, with its fast path for brace-only values and its length limit
(:data:`evidencekit.evidence.latex.MAX_LATEX_CHARS`), over values of a realistic size. This is a
benchmark, not a test: nothing here asserts a time.
"""
from __future__ import annotations

import time

from pylatexenc.latex2text import LatexNodes2Text

from evidencekit.evidence import latex

TITLE = r"Dry needling of {MTrPs} in M{\"u}ller's {\'e}tude -- a {RCT}"

CASES = {
    # name: (make one input of size n, how to decode it)
    "pylatexenc, one value of accents": (lambda n: (r"{\'e} " * n)[:n], "raw"),
    "pylatexenc, one value of backslashes": (lambda n: "\\" * n, "raw"),
    "latex_to_text, one value of accents": (lambda n: (r"{\'e} " * n)[:n], "ours"),
    "latex_to_text, one value of open braces": (lambda n: "{" * n, "ours"),
    "latex_to_text, titles of 60 characters": (lambda n: [f"{TITLE} {i}" for i in range(n // 60)],
                                              "ours-many"),
}


def _run(make, how: str, n: int) -> float:
    value = make(n)
    raw = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False, keep_comments=True)
    latex._decode.cache_clear()
    start = time.perf_counter()
    if how == "raw":
        raw.latex_to_text(value)
    elif how == "ours":
        latex.latex_to_text(value)
    else:
        for v in value:
            latex.latex_to_text(v)
    return time.perf_counter() - start


def main() -> None:
    n = 20_000
    print(f"LaTeX decoding, n = {n:,} and 10n characters; limit per value "
          f"{latex.MAX_LATEX_CHARS:,}")
    for name, (make, how) in CASES.items():
        small, large = _run(make, how, n), _run(make, how, 10 * n)
        print(f"  {name:42s} {small:8.3f} s {large:8.3f} s   ratio {large / small:6.1f}")


if __name__ == "__main__":
    main()
