"""JSON as evidencekit prints it: one conversion for the CLI and for files that ``build`` writes.

``claims.json`` must be byte for byte what ``evidencekit claims --format json`` prints, so both go
through :func:`dumps`. NaN and infinities become ``null`` (JSON has no NaN; a consumer must not
mistake "not estimable" for a number) and numpy scalars become Python numbers.
"""
from __future__ import annotations

import json
import math
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Plain JSON values from dicts, lists, tuples, floats and numpy scalars."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return to_jsonable(value.item())
    return value


def dumps(payload: Any) -> str:
    """Indented JSON, keys in the order given, no NaN."""
    return json.dumps(to_jsonable(payload), indent=2, sort_keys=False, allow_nan=False)
