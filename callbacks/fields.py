"""Numbers typed into a tab's boxes, read as typed. The boxes take any number (no `min` or `step` in the browser:
a value a box finds invalid reaches the server as nothing, which read as "blank: the default", so 0 steps ran the
preset's 1,000 and a count of -3 made one image); here a blank box is None, a whole-number field refuses 2.5 in
one line naming the field, and the job's limits (`core.job_limits`) refuse what is out of range."""

from __future__ import annotations

import math


def number(value, field: str) -> float | None:
    """The box's number, None when blank."""
    if value in (None, ""):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: expected a number, got {str(value)[:20]!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{field}: expected a number, got {value}")
    return out


def whole(value, field: str) -> int | None:
    """The box's whole number, None when blank; 2.5 is refused, never cut to 2."""
    out = number(value, field)
    if out is None:
        return None
    if out != int(out):
        raise ValueError(f"{field}: expected a whole number, got {out:g}")
    return int(out)
