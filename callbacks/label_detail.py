"""Label tab: the focused image's detail panel and label history (also used by the Explore tab)."""

from __future__ import annotations

from dash import html

from scatterloop.core.labelling import image_ids
from scatterloop.dashboard.components import label_view, viewer_view

from .media import thumb_url
from .services import Services


def history_rows(services: Services, image_id: int) -> list[dict]:
    """An image's label events as plain rows for the history tables."""
    return [
        {
            "at": ev.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "label": ev.label,
            "annotator": ev.annotator,
            "origin": ev.origin,
            "confidence": ev.confidence,  # a model's call: how sure it was
            "domain": ev.domain,  # and how far the image lay from its training frames (> 1: unlike them)
            "undo": ev.undoes is not None,
        }
        for ev in services.store.label_history(image_id)
    ]


def detail_panel(services: Services, image_id: int | None):
    if image_id is None:
        return label_view.detail_empty()
    try:
        (image_id,) = image_ids([image_id])
    except ValueError as exc:
        return label_view.status(str(exc), ok=False)
    img = services.store.get_image(image_id)
    if img is None:
        return label_view.status(f"image #{image_id}: not in this workspace", ok=False)
    history = history_rows(services, img.id)
    fields = {
        c: getattr(img, c)
        for c in (
            "id",
            "source",
            "pattern",
            "height",
            "width",
            "dtype",
            "masked_fraction",
            "original_name",
            "description",
            "prompt",
            "seed",
            "run_id",
            "round",
            "provenance",
        )
    }
    return html.Div(  # the viewer hook: the full-resolution frame, zoom and pixel values
        [viewer_view.open_button(img.id, "label"), label_view.detail(fields, thumb_url(img.sha256), history)]
    )
