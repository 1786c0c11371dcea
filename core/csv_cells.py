"""CSV cells that a spreadsheet will not run: exported tables are shared, and their text comes from generators,
manifests and annotators' names, any of which may start like a formula (`=HYPERLINK(...)`, `+cmd|...`)."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A text cell that starts like a formula gets a leading apostrophe (OWASP's CSV-injection advice: spreadsheets
    show it as text); numbers and every other cell are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
