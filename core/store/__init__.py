"""Workspace store: SQLAlchemy models and the only code that writes labels, runs and artifacts."""

from .models import (
    ROLES,
    SCHEMA_VERSION,
    SOURCES,
    Artifact,
    Image,
    ImageMetric,
    LabelEvent,
    MapPoint,
    Round,
    Run,
    User,
)
from .store import UNLABELED, ImageFilter, LabelState, Store

__all__ = [
    "ROLES",
    "User",
    "SCHEMA_VERSION",
    "SOURCES",
    "Artifact",
    "Image",
    "ImageMetric",
    "MapPoint",
    "LabelEvent",
    "Round",
    "Run",
    "UNLABELED",
    "ImageFilter",
    "LabelState",
    "Store",
]
