"""Find images by id, content hash, prompt, description, original file name or pattern.

A query is split into words; an image matches when every word is found (case-insensitively) in one of its
text fields. `#12` or a bare number also matches image 12 itself, listed first; eight or more hex digits
match the start of a content hash. The database does the matching, so it stays quick on 100k images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from .store import Image
from .workspace import Workspace

TEXT_FIELDS = (Image.description, Image.prompt, Image.original_name, Image.pattern)
_ID = re.compile(r"^#?(\d{1,12})$")
_SHA = re.compile(r"^[0-9a-fA-F]{8,64}$")


@dataclass
class SearchResult:
    query: str
    ids: list[int] = field(default_factory=list)  # at most `limit`, exact id match first
    total: int = 0  # every match


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_images(ws: Workspace, query: str, limit: int = 60) -> SearchResult:
    """Images matching `query` (see the module docstring), exact id first, then by id."""
    query = (query or "").strip()
    if not query:
        return SearchResult(query="")
    words = query.split()
    exact: int | None = None
    if len(words) == 1 and (m := _ID.match(words[0])):
        exact = int(m.group(1))
    clauses = []
    for word in words:
        like = f"%{_escape(word.lstrip('#') if _ID.match(word) else word)}%"
        per_word = [col.ilike(like, escape="\\") for col in TEXT_FIELDS]
        if _SHA.match(word):
            per_word.append(Image.sha256.like(f"{word.lower()}%"))
        clauses.append(or_(*per_word))
    where = and_(*clauses)
    if exact is not None:
        where = or_(where, Image.id == exact)
    with ws.store.session() as s:
        total = s.scalar(select(func.count()).select_from(Image).where(where)) or 0
        order = [(Image.id != exact) if exact is not None else Image.id.is_(None), Image.id]
        ids = list(s.scalars(select(Image.id).where(where).order_by(*order).limit(limit)))
    return SearchResult(query=query, ids=ids, total=int(total))
