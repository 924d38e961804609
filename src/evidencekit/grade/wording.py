"""Claim and caveat sentences as data: templates with placeholders, overridable per review.

Placeholders: ``{intervention}`` (noun phrase, "BCG vaccination"), ``{Intervention}`` (the same
as a sentence subject), ``{comparator}`` (the comparison's words), ``{outcome}`` (the question's
outcome, with its time window where the template says so), and template-specific numbers. A review
overrides any template under ``wording:`` in its ``review.yaml``; the shipped defaults are in
``data/wording.yaml``. No template names a treatment or a condition: the topic comes from the
evidence folder.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Mapping

import yaml

from ..errors import InputError

__all__ = ["default_templates", "Wording"]


@lru_cache(maxsize=1)
def default_templates() -> dict[str, str]:
    """The shipped templates (``data/wording.yaml``), name -> text."""
    text = resources.files("evidencekit").joinpath("data/wording.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {str(k): " ".join(str(v).split()) for k, v in data.items()}


class Wording:
    """Templates for one review: the defaults, overridden by the review's own."""

    def __init__(self, overrides: Mapping[str, str] | None = None,
                 intervention: str = "the treatment", subject: str | None = None) -> None:
        self.templates = dict(default_templates())
        unknown = sorted(set(overrides or {}) - set(self.templates))
        if unknown:
            raise InputError(f"review.yaml wording: unknown template(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(self.templates))}", field="wording")
        self.templates.update({k: " ".join(str(v).split()) for k, v in (overrides or {}).items()})
        self.intervention = intervention
        self.subject = subject or (intervention[:1].upper() + intervention[1:])

    def __call__(self, name: str, **values) -> str:
        fill = {"intervention": self.intervention, "Intervention": self.subject}
        fill.update(values)
        try:
            return self.templates[name].format(**fill)
        except KeyError as exc:
            raise InputError(f"wording template {name!r} uses the placeholder {exc}, which is not "
                             f"available here; use one of {', '.join(sorted(fill))}",
                             field=f"wording.{name}") from None
