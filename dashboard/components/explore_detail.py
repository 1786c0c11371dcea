"""The Explore tab's image pieces: the clicked image's detail (picture, reconstruction, polar warp with its axes
and symmetry, provenance, label history), the hover tooltip and the gallery's thumbnail card."""

from __future__ import annotations

from dash import html

from .. import ids
from .label_view import card_body


def detail_empty() -> html.P:
    return html.P("Click a point on the map for its image, polar warp and history.", className="text-muted small")


def tooltip(thumb_url: str, caption: str) -> html.Div:
    return html.Div(
        [html.Img(src=thumb_url, style={"width": "140px", "display": "block"}), html.Div(caption, className="small")],
        style={"width": "140px"},
    )


def gallery_card(
    image_id: int,
    thumb_url: str,
    caption: str,
    label: str | None,
    title: str | None = None,
    badge: bool = True,
    source: str | None = None,
    clickable: bool = False,
) -> html.Div:
    """A thumbnail card; `title` is the hover text (what does not fit under a 100 px thumbnail). A clickable
    card (the map's selection gallery) opens the image's detail."""
    body = card_body(image_id, thumb_url, caption, label, badge=badge, source=source)
    extra = {"id": ids.explore_gallery_card(image_id), "n_clicks": 0} if clickable else {}
    return html.Div(body, className="sl-card", title=title or f"image {image_id}: click for its detail", **extra)


def detail(
    image: dict, thumb_url: str, recon_url: str | None, polar_url: str, polar: dict, profile, history: list[dict]
) -> html.Div:
    """Image, autoencoder reconstruction, polar warp and score, the profile block (I(q) and cake with a
    calibration, else I(r) in pixels: `profile_view.profile_block`), provenance and label history."""
    from .label_view import history_table, provenance_facts

    prov = [
        ("source", image["source"]),
        ("pattern", image.get("pattern") or "—"),
        ("run", image.get("run_id")),
        ("prompt", image.get("prompt")),
        ("seed", image.get("seed")),
        ("round", image.get("round")),
        ("from", image["original_name"]),
    ]
    prov += provenance_facts(image.get("provenance"))
    pictures = [
        html.Figure(
            [
                html.Img(src=thumb_url, className="sl-detail-img"),
                html.Figcaption("image (log scale)", className="small text-muted"),
            ]
        )
    ]
    if recon_url:
        pictures.append(
            html.Figure(
                [
                    html.Img(src=recon_url, className="sl-detail-img"),
                    html.Figcaption("autoencoder input | reconstruction", className="small text-muted"),
                ]
            )
        )
    pictures.append(
        html.Figure(
            [
                polar_axes(html.Img(src=polar_url, className="sl-detail-img sl-polar"), polar.get("r_max")),
                html.Figcaption("polar warp: azimuth down, radius right", className="small text-muted"),
            ]
        )
    )
    return html.Div(
        [
            html.H6(f"Image {image['id']}"),
            html.P(image.get("description") or "", className="small"),
            html.Div(pictures, className="sl-detail-row"),
            html.P(polar_caption(polar), className="small", id=ids.EXPLORE_POLAR_TEXT),
            profile,
            html.Dl(
                [x for k, v in prov if v is not None for x in (html.Dt(k), html.Dd(str(v), className="text-break"))],
                className="small sl-facts",
            ),
            html.H6("Label history"),
            history_table(history),
        ]
    )


def polar_axes(image, r_max: float | None) -> html.Div:
    """The polar warp with its axes: azimuth 0–360° down the left, radius (px from the centre) along the bottom."""
    y = html.Div([html.Span("0°"), html.Span("180°"), html.Span("360°")], className="sl-y")
    x = html.Div([html.Span("r 0"), html.Span(f"{r_max:.0f} px" if r_max else "r max")], className="sl-x")
    return html.Div([y, image, x], className="sl-polar-axes")


def polar_caption(polar: dict) -> list:
    """Symmetry and centre, or why there is none: a sentinel score or a guessed centre is never shown as data."""
    if polar.get("status", "found") != "found":
        return [
            html.Strong("no centre"),
            f" · {polar.get('reason') or 'the frame does not fix a beam centre'}; the warp is about the best guess "
            f"x={polar['centre_x']:.1f}, y={polar['centre_y']:.1f} and no symmetry is scored",
        ]
    score = polar.get("score")
    head = f"symmetry {score:.3f}" if score is not None and score > -1 else "symmetry n/a (no ring structure to score)"
    conf = polar.get("confidence")
    searched = polar.get("source") == "search"
    tail = f", confidence {conf:.2f}" if conf is not None and searched else ""
    source = polar["source"] if searched else f"calibration {polar['source']}"  # the workspace's file gave it
    if str(polar.get("source", "")).startswith("header "):  # the rings fixed none: the image file's header gave it
        source = f"from the file's header, {polar['source'][len('header ') :]}"
    notes = [
        part for note in polar.get("notes") or [] for part in (html.Br(), html.Span(note, className="text-muted"))
    ]
    return [
        html.Strong(head),
        f" · centre x={polar['centre_x']:.1f}, y={polar['centre_y']:.1f} ({source}{tail})",
        *notes,  # what the image file's header said: used where the rings fix none, or far from their centre
    ]
