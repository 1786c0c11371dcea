"""The only code that writes labels, runs and artifacts.

An image's label is its latest *human* event; model events are suggestions kept beside it and never
overwrite it. Undo appends events that restore the previous labels.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from . import undo
from .engine import make_engine, upgrade
from .fills import ImageFills
from .maps import MapRecords
from .models import ORIGINS, SOURCES, Image, LabelEvent, Meta, Round, utcnow
from .runs import RunRecords
from .undo import check_annotator
from .users import UserRecords

UNLABELED = "__unlabeled__"
RunStatus = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass(frozen=True)
class ImageFilter:
    """What the Label view (and the CLI) asks for. `None` means "any"; `label=UNLABELED` asks for no label."""

    source: str | None = None
    pattern: str | None = None
    label: str | None = None
    round: int | None = None


@dataclass(frozen=True)
class LabelState:
    label: str | None
    annotator: str | None
    at: datetime | None


class Store(RunRecords, MapRecords, UserRecords, ImageFills):
    """Workspace database access. One instance per process; thread-safe through short sessions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.schema_found = upgrade(self.engine)

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A short transaction; `write=True` takes the write lock up front (SQLite BEGIN IMMEDIATE)."""
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(immediate=True)
            with Session(bind=conn, expire_on_commit=False) as s:
                yield s
                s.commit()

    def dispose(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- images
    def has_sha(self, sha256: str) -> int | None:
        with self.session() as s:
            return s.scalar(select(Image.id).where(Image.sha256 == sha256))

    def add_image(self, **fields) -> int:
        """Register one frame; returns its id. Raises ValueError on an unknown source."""
        if fields.get("source") not in SOURCES:
            raise ValueError(f"source: expected one of {SOURCES}, got {fields.get('source')!r}")
        with self.session(write=True) as s:
            img = Image(**fields)
            s.add(img)
            s.flush()
            return img.id

    def add_new_image(self, **fields) -> int | None:
        """`add_image`, or None when an image of the same values is already stored: another import of the same
        frames got there between this one's duplicate check and its write (the database's unique hash says so)."""
        from sqlalchemy.exc import IntegrityError

        try:
            return self.add_image(**fields)
        except IntegrityError:
            if fields.get("sha256") and self.has_sha(fields["sha256"]):
                return None
            raise

    def images_of_run(self, run_id: int) -> list[Image]:
        with self.session() as s:
            return list(s.scalars(select(Image).where(Image.run_id == run_id).order_by(Image.id)))

    def image_by_sha(self, sha256: str) -> Image | None:
        with self.session() as s:
            return s.scalar(select(Image).where(Image.sha256 == sha256))

    def get_image(self, image_id: int) -> Image | None:
        with self.session() as s:
            return s.get(Image, image_id)

    def get_images(self, ids: Sequence[int]) -> list[Image]:
        """Images by id, in the order asked (ids may be numpy integers)."""
        ids = [int(i) for i in ids]
        rows: dict[int, Image] = {}
        with self.session() as s:
            for start in range(0, len(ids), 5000):  # stay under the database's bound-parameter limit
                rows.update({i.id: i for i in s.scalars(select(Image).where(Image.id.in_(ids[start : start + 5000])))})
        return [rows[i] for i in ids if i in rows]

    def _current_human(self):
        latest = (
            select(LabelEvent.image_id, func.max(LabelEvent.id).label("eid"))
            .where(LabelEvent.origin == "human")
            .group_by(LabelEvent.image_id)
            .subquery()
        )
        return (
            select(LabelEvent.image_id, LabelEvent.label, LabelEvent.annotator, LabelEvent.created_at)
            .join(latest, LabelEvent.id == latest.c.eid)
            .subquery()
        )

    def _filtered(self, flt: ImageFilter, columns) -> Select:
        cur = self._current_human()
        q = select(*columns(cur)).select_from(Image).outerjoin(cur, cur.c.image_id == Image.id)
        if flt.source:
            q = q.where(Image.source == flt.source)
        if flt.pattern:
            q = q.where(Image.pattern == flt.pattern)
        if flt.round is not None:
            q = q.where(Image.round == flt.round)
        if flt.label == UNLABELED:
            q = q.where(cur.c.label.is_(None))
        elif flt.label:
            q = q.where(cur.c.label == flt.label)
        return q

    def count_images(self, flt: ImageFilter = ImageFilter()) -> int:
        with self.session() as s:
            return s.scalar(self._filtered(flt, lambda cur: [func.count(Image.id)]))

    def list_images(
        self, flt: ImageFilter = ImageFilter(), offset: int = 0, limit: int | None = None
    ) -> list[tuple[Image, str | None]]:
        """Images matching `flt` in id order, each with its current human label."""
        q = self._filtered(flt, lambda cur: [Image, cur.c.label]).order_by(Image.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.session() as s:
            return [(img, label) for img, label in s.execute(q)]

    def distinct(self, column: Literal["source", "pattern", "round"]) -> list:
        col = getattr(Image, column)
        with self.session() as s:
            return [v for v in s.scalars(select(col).distinct().order_by(col)) if v is not None]

    # ---------------------------------------------------------------- labels
    def current_labels(self, image_ids: Iterable[int] | None = None) -> dict[int, LabelState]:
        """Latest human label of each image (images never labelled are absent)."""
        cur = self._current_human()
        ids = None if image_ids is None else [int(i) for i in image_ids]
        queries = [select(cur)] if ids is None else [
            select(cur).where(cur.c.image_id.in_(ids[start : start + 5000])) for start in range(0, len(ids), 5000)
        ]  # fmt: skip  # chunks: a 40k-image lasso stays under every database's bound-parameter limit
        with self.session() as s:
            return {r.image_id: LabelState(r.label, r.annotator, r.created_at) for q in queries for r in s.execute(q)}

    def label_values(self) -> list[str]:
        """Every label some image holds now (sorted): the label set's, and any other a manifest brought."""
        cur = self._current_human()
        with self.session() as s:
            return [v for v in s.scalars(select(cur.c.label).distinct().order_by(cur.c.label)) if v is not None]

    def add_labels(
        self,
        image_ids: Sequence[int],
        label: str | None,
        annotator: str,
        origin: Literal["human", "model"] = "human",
        confidence: float | Sequence[float] | None = None,
        round: int | None = None,
        domain: Sequence[float | None] | None = None,
    ) -> str:
        """Append one event per image as one action (undone together); returns the action id. `domain`: a model
        call's distance from its training frames per image (`core.classify.domain`), or None."""
        if origin not in ORIGINS:
            raise ValueError(f"origin: expected one of {ORIGINS}, got {origin!r}")
        check_annotator(annotator)
        ids = list(dict.fromkeys(int(i) for i in image_ids))
        confs = confidence if isinstance(confidence, Sequence) else [confidence] * len(ids)
        if len(confs) != len(ids):
            raise ValueError("confidence: one value per image expected")
        domains = [None] * len(ids) if domain is None else list(domain)
        if len(domains) != len(ids):
            raise ValueError("domain: one value per image expected")
        action = str(uuid.uuid4())
        now = utcnow()
        rows = [
            dict(
                image_id=i,
                label=label,
                annotator=annotator.strip(),
                origin=origin,
                confidence=c,
                round=round,
                action_id=action,
                created_at=now,
                domain=d,
            )
            for i, c, d in zip(ids, confs, domains, strict=True)
        ]
        with self.session(write=True) as s:
            if origin == "human":
                self._lock_images(s, ids)
            if rows:
                s.execute(LabelEvent.__table__.insert(), rows)
        return action

    def _lock_images(self, s: Session, image_ids: Iterable[int]) -> None:
        """Row-lock the images (in id order, so writers never deadlock) until the transaction ends.

        Every writer of human label events takes these locks first, so labelling and undo serialise per image and
        what a writer reads after locking is what it writes over. SQLite needs none: its writers already queue for
        the one database lock (BEGIN IMMEDIATE). `FOR NO KEY UPDATE` does not block the foreign-key checks of
        writers that take no lock (model suggestions).
        """
        if self.engine.dialect.name == "sqlite":
            return
        ids = sorted({int(i) for i in image_ids})
        for start in range(0, len(ids), 5000):  # ascending chunks keep the one global lock order
            chunk = ids[start : start + 5000]
            s.execute(select(Image.id).where(Image.id.in_(chunk)).order_by(Image.id).with_for_update(key_share=True))

    def undo_last(self, annotator: str) -> int:
        """Undo this annotator's latest human action that still has an effect (a pre-label they accepted is one);
        returns images changed.

        An image someone labelled after that action keeps the newer label; an action wholly superseded
        that way is skipped, so undo reaches the one before it. The decision is taken holding the action's
        image locks (`_lock_images`), so a label committed by another annotator meanwhile is never undone over.
        The reverting events belong to the current round (`undo.undo_rows`).
        """
        undone = select(LabelEvent.undoes).where(LabelEvent.undoes.is_not(None))
        mine = and_(
            undo.by(annotator),
            LabelEvent.origin == "human",
            LabelEvent.undoes.is_(None),
            LabelEvent.action_id.not_in(undone),
        )
        with self.session() as s:
            actions = s.scalars(
                select(LabelEvent.action_id)
                .where(mine)
                .group_by(LabelEvent.action_id)
                .order_by(func.max(LabelEvent.id).desc())
            ).all()
            with_effect = set(s.scalars(select(LabelEvent.action_id).where(mine, ~undo.superseded()).distinct()))
        # One short write per candidate: lock the action's images, then decide on what is committed by then.
        for action in (a for a in actions if a in with_effect):
            with self.session(write=True) as s:
                self._lock_images(
                    s, s.scalars(select(LabelEvent.image_id).where(LabelEvent.action_id == action)).all()
                )
                if s.scalar(select(LabelEvent.id).where(LabelEvent.undoes == action).limit(1)) is not None:
                    continue  # undone meanwhile (the same annotator, elsewhere)
                rows = undo.undo_rows(s, action, annotator, s.scalar(select(func.max(Round.number))))
                if rows:
                    s.execute(LabelEvent.__table__.insert(), rows)
                    return len(rows)
        return 0

    def label_history(self, image_id: int) -> list[LabelEvent]:
        with self.session() as s:
            return list(s.scalars(select(LabelEvent).where(LabelEvent.image_id == image_id).order_by(LabelEvent.id)))

    def count_events(self, origin: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count(LabelEvent.id))
            if origin:
                q = q.where(LabelEvent.origin == origin)
            return s.scalar(q)

    def labels_as_of(self, round: int | None = None) -> dict[int, LabelState]:
        """Latest human label of each image using only events of rounds up to `round` (all when None)."""
        if round is None:
            return self.current_labels()
        q = (
            select(LabelEvent.image_id, LabelEvent.label, LabelEvent.annotator, LabelEvent.created_at)
            .where(LabelEvent.origin == "human", and_(LabelEvent.round.is_not(None), LabelEvent.round <= round))
            .order_by(LabelEvent.id)
        )
        out: dict[int, LabelState] = {}
        with self.session() as s:
            for r in s.execute(q):
                out[r.image_id] = LabelState(r.label, r.annotator, r.created_at)
        return {k: v for k, v in out.items() if v.label is not None}

    # ---------------------------------------------------------------- rounds
    def current_round(self) -> int:
        """The number of the latest round, creating round 1 on first use."""
        with self.session(write=True) as s:
            n = s.scalar(select(func.max(Round.number)))
            if n is None:
                s.add(Round(number=1, name="round 1"))
                n = 1
            return n

    def list_rounds(self) -> list[Round]:
        with self.session() as s:
            return list(s.scalars(select(Round).order_by(Round.number)))

    def next_round(self) -> int:
        """Open the round after the latest one (the next batch of candidates and labels belongs to it)."""
        with self.session(write=True) as s:
            n = (s.scalar(select(func.max(Round.number))) or 0) + 1
            s.add(Round(number=n, name=f"round {n}"))
            return n

    def update_round(self, number: int, **details) -> None:
        """Merge `details` into a round's record (lists under the same key are extended)."""
        self.current_round()
        with self.session(write=True) as s:
            row = s.scalar(select(Round).where(Round.number == number))
            if row is None:
                raise ValueError(f"round: no round {number}")
            merged = dict(row.details or {})
            for k, v in details.items():
                merged[k] = merged.get(k, []) + list(v) if isinstance(v, list) else v
            row.details = merged

    def get_meta(self, key: str, default=None):
        with self.session() as s:
            value = s.scalar(select(Meta.value).where(Meta.key == key))
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value) -> None:
        with self.session(write=True) as s:
            s.execute(Meta.__table__.delete().where(Meta.key == key))
            s.execute(Meta.__table__.insert().values(key=key, value=json.dumps(value)))

    def add_labels_where_unlabeled(
        self, labels: dict[int, tuple[str, float | None]], annotator: str, round: int | None = None
    ) -> list[int]:
        """Human events for images that have no human label at the moment of writing (checked inside the
        write transaction), so a pre-label never overwrites a person's label; returns the ids written."""
        check_annotator(annotator)
        action, now = str(uuid.uuid4()), utcnow()
        with self.session(write=True) as s:
            self._lock_images(s, labels)
            cur = self._current_human()
            labelled = set(s.scalars(select(cur.c.image_id).where(cur.c.label.is_not(None))))
            rows = [
                dict(
                    image_id=int(i),
                    label=lab,
                    annotator=annotator.strip(),
                    origin="human",
                    confidence=conf,
                    round=round,
                    action_id=action,
                    created_at=now,
                )
                for i, (lab, conf) in labels.items()
                if int(i) not in labelled
            ]
            if rows:
                s.execute(LabelEvent.__table__.insert(), rows)
        return [r["image_id"] for r in rows]

    def model_suggestions(
        self,
        annotator: str | None = None,
        image_ids: Sequence[int] | None = None,
        *,
        annotator_prefix: str | None = None,
        labels: Sequence[str] | None = None,
        exclude_labels: Sequence[str] | None = None,
    ) -> dict[int, tuple[str | None, float | None]]:
        """Latest model event per image (of one model annotator when given, of annotators starting with
        `annotator_prefix`, among events whose label is one of `labels` and none of `exclude_labels`):
        (label, confidence)."""
        rows = self._latest_model_events(annotator, image_ids, annotator_prefix, labels, exclude_labels)
        return {r.image_id: (r.label, r.confidence) for r in rows}

    def model_domains(
        self,
        annotator: str | None = None,
        image_ids: Sequence[int] | None = None,
        *,
        annotator_prefix: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> dict[int, float]:
        """The domain ratio (`core.classify.domain`) of the events `model_suggestions` reads, where recorded."""
        rows = self._latest_model_events(annotator, image_ids, annotator_prefix, labels, None)
        return {r.image_id: r.domain for r in rows if r.domain is not None}

    def _latest_model_events(self, annotator, image_ids, annotator_prefix, labels, exclude_labels) -> list:
        latest = select(func.max(LabelEvent.id)).where(LabelEvent.origin == "model")
        if annotator is not None:
            latest = latest.where(LabelEvent.annotator == annotator)
        if annotator_prefix is not None:
            latest = latest.where(LabelEvent.annotator.startswith(annotator_prefix, autoescape=True))
        if labels is not None:
            latest = latest.where(LabelEvent.label.in_(list(labels)))
        if exclude_labels:
            latest = latest.where(LabelEvent.label.not_in(list(exclude_labels)))
        if image_ids is not None:
            latest = latest.where(LabelEvent.image_id.in_([int(i) for i in image_ids]))
        latest = latest.group_by(LabelEvent.image_id)
        cols = (LabelEvent.image_id, LabelEvent.label, LabelEvent.confidence, LabelEvent.domain)
        with self.session() as s:
            return s.execute(select(*cols).where(LabelEvent.id.in_(latest))).all()
