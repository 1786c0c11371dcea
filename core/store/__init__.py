"""Workspace store: SQLAlchemy models and the only code that writes labels, runs and artifacts."""

from .models import SCHEMA_VERSION, SOURCES, Artifact, Image, ImageMetric, LabelEvent, MapPoint, Round, Run
from .store import UNLABELED, ImageFilter, LabelState, Store

__all__ = [
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
