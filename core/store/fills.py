"""What a later import fills in on images stored before: their pattern, calibration or panel where they have none
(part of `Store`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from .models import Image


class ImageFills:
    def fill_pattern(self, image_ids: Sequence[int], pattern: str) -> list[int]:
        """Give `pattern` to those of the images that have none (a later import's metadata); returns their ids.
        A pattern already stored is kept."""
        ids, empty = [int(i) for i in image_ids], []
        with self.session(write=True) as s:
            for start in range(0, len(ids), 5000):  # under every database's bound-parameter limit
                part = ids[start : start + 5000]
                found = list(s.scalars(select(Image.id).where(Image.id.in_(part), Image.pattern.is_(None))))
                if found:
                    s.execute(Image.__table__.update().where(Image.id.in_(found)).values(pattern=pattern))
                empty += found
        return empty

    def fill_provenance(self, image_ids: Sequence[int], key: str, value: str) -> tuple[list[int], list[int]]:
        """Give provenance `key` = `value` to those of the images that have none (a later import's manifest);
        returns (the ids given it, the ids that keep another value)."""
        given, other, ids = [], [], list(image_ids)
        with self.session(write=True) as s:
            for start in range(0, len(ids), 5000):  # under every database's bound-parameter limit
                for image_id, prov in s.execute(
                    select(Image.id, Image.provenance).where(Image.id.in_(ids[start:][:5000]))
                ):
                    if (held := (prov or {}).get(key)) in (None, ""):
                        s.execute(
                            Image.__table__.update()
                            .where(Image.id == image_id)
                            .values(provenance={**(prov or {}), key: value})
                        )
                        given.append(image_id)
                    elif str(held) != value:
                        other.append(image_id)
        return given, other
