"""Map points and per-image metrics of the store (the Explore map, symmetry scores, ...)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from .models import Image, ImageMetric, MapPoint, Run


class MapRecords:
    """Part of `Store` (mixed in): uses its `session()`."""

    def add_map_points(self, run_id: int, image_ids, xy, xyz=None, placed: bool = False) -> int:
        """Add points to a map; an image the map already holds keeps its point (two "place new images" jobs at
        once add each image once). Returns the number added."""
        with self.session(write=True) as s:
            # the map's run row locked first (PostgreSQL; SQLite's write transactions are serial already), so
            # two writers cannot both find an image missing
            s.execute(select(Run.id).where(Run.id == run_id).with_for_update())
            have = set(s.scalars(select(MapPoint.image_id).where(MapPoint.run_id == run_id)))
            rows = []
            for k, image_id in enumerate(image_ids):
                if int(image_id) in have:
                    continue
                have.add(int(image_id))
                row = dict(run_id=run_id, image_id=int(image_id), x=float(xy[k][0]), y=float(xy[k][1]), placed=placed)
                if xyz is not None:
                    row.update(x3=float(xyz[k][0]), y3=float(xyz[k][1]), z3=float(xyz[k][2]))
                rows.append(row)
            if rows:
                s.execute(MapPoint.__table__.insert(), rows)
        return len(rows)

    def map_arrays(self, run_id: int) -> dict[str, np.ndarray]:
        """A map's points as arrays (ids, xy, xyz, placed), ordered by image id: fast for 100k points."""
        q = (
            select(MapPoint.image_id, MapPoint.x, MapPoint.y, MapPoint.x3, MapPoint.y3, MapPoint.z3, MapPoint.placed)
            .where(MapPoint.run_id == run_id)
            .order_by(MapPoint.image_id)
        )
        with self.session() as s:
            rows = s.execute(q.order_by(MapPoint.id)).all()
        # one point per image: a workspace written before placement was serialised may hold an image twice
        rows = list({r[0]: r for r in reversed(rows)}.values())[::-1]
        arr = np.array([tuple(np.nan if v is None else v for v in r) for r in rows], dtype=float).reshape(-1, 7)
        return {"ids": arr[:, 0].astype(int), "xy": arr[:, 1:3], "xyz": arr[:, 3:6], "placed": arr[:, 6] > 0}

    def image_facts(self) -> dict[int, tuple[str, str | None, int | None]]:
        """(source, pattern, round) of every image, without loading whole rows."""
        with self.session() as s:
            return {
                r[0]: (r[1], r[2], r[3]) for r in s.execute(select(Image.id, Image.source, Image.pattern, Image.round))
            }

    def map_points(self, run_id: int) -> list[MapPoint]:
        with self.session() as s:
            return list(s.scalars(select(MapPoint).where(MapPoint.run_id == run_id).order_by(MapPoint.image_id)))

    def latest_map_run(self) -> Run | None:
        with self.session() as s:
            return s.scalar(
                select(Run).where(Run.kind == "embed", Run.status == "done").order_by(Run.id.desc()).limit(1)
            )

    def set_metrics(self, name: str, values: dict[int, float], run_id: int | None = None) -> None:
        with self.session(write=True) as s:
            s.execute(
                ImageMetric.__table__.delete().where(ImageMetric.name == name, ImageMetric.image_id.in_(list(values)))
            )
            s.execute(
                ImageMetric.__table__.insert(),
                [dict(image_id=int(k), name=name, value=float(v), run_id=run_id) for k, v in values.items()],
            )

    def metrics(self, name: str) -> dict[int, float]:
        with self.session() as s:
            return dict(
                s.execute(select(ImageMetric.image_id, ImageMetric.value).where(ImageMetric.name == name)).all()
            )
