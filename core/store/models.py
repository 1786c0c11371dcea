"""SQLAlchemy models of the workspace store.

Labels are append-only events: nothing here is ever updated in place except a run's status and progress.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 8
SOURCES = ("experimental", "generated", "simulated")
ORIGINS = ("human", "model")
ROLES = ("viewer", "annotator", "admin")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(t: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive UTC values, PostgreSQL aware ones."""
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON}


class Meta(Base):
    """Key/value facts about the workspace itself, the schema version among them."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Image(Base):
    """One frame. A detector file holding a stack gives one row per frame (`frame`)."""

    __tablename__ = "image"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    path: Mapped[str] = mapped_column(Text)  # stored original, relative to the workspace
    frame: Mapped[int] = mapped_column(Integer, default=0)
    dataset: Mapped[str | None] = mapped_column(Text, nullable=True)  # HDF5 dataset path, when relevant
    original_name: Mapped[str] = mapped_column(Text)  # where it came from
    source: Mapped[str] = mapped_column(String(16), index=True)
    pattern: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    height: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(16))
    masked_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), nullable=True, index=True)
    prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    round: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # round it entered as candidate
    provenance: Mapped[dict] = mapped_column(JSON, default=dict)  # backend, checkpoint, steps, simulator params...
    truth: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # benchmark truth; never shown as a label
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelEvent(Base):
    """One labelling act on one image. Never updated, never deleted; undo appends."""

    __tablename__ = "label_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: back to unlabeled
    annotator: Mapped[str] = mapped_column(String(128))
    origin: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # since v2
    undoes: Mapped[str | None] = mapped_column(String(36), nullable=True)  # since v2
    # a model call's distance from the model's training frames over its threshold (> 1: unlike them); since v7
    domain: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_label_event_image_origin_id", "image_id", "origin", "id"),)


class Round(Base):
    """A round of the human-in-the-loop method: its labels, training set, models, predictions, metrics."""

    __tablename__ = "round"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # training set, models, metrics: filled by training
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Run(Base):
    """Every long job: what it was asked, how far it got, how it ended."""

    __tablename__ = "run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed|cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    cancel_requested: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=False)  # since v3
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # since v4: the process running it
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)  # since v4: the machine of `pid`
    # since v5: when `pid` started (epoch seconds, psutil's create_time), so a reused pid is not taken for the job
    pid_started: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_by: Mapped[str | None] = mapped_column(String(128), nullable=True)  # since v6: user (login on)
    # since v8: last sign of life of the process running it (`jobs.execute` writes it at least every HEARTBEAT_S), so
    # a run whose machine died is found lost from any machine (`RunRecords.reap_interrupted`)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Artifact(Base):
    """A file a run made: checkpoint, embedding, report, export."""

    __tablename__ = "artifact"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(Text)  # relative to the workspace
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MapPoint(Base):
    """An image's position in a latent map (the map is the `embed` run that fitted it). Since v3.

    `placed` points were added later with the fitted projection and did not shape the layout.
    """

    __tablename__ = "map_point"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id"), index=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    x3: Mapped[float | None] = mapped_column(Float, nullable=True)
    y3: Mapped[float | None] = mapped_column(Float, nullable=True)
    z3: Mapped[float | None] = mapped_column(Float, nullable=True)
    placed: Mapped[bool] = mapped_column(Boolean, default=False)


class ImageMetric(Base):
    """A number computed for an image (symmetry score, ...), with the run that computed it. Since v3."""

    __tablename__ = "image_metric"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[float] = mapped_column(Float)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), nullable=True)


class User(Base):
    """A person who may sign in (login `password`) or whose role a trusted proxy's name maps to (`header`).
    Since v6. `password_hash` is an argon2 hash (`core.auth`); `None` for users that only a proxy names."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
