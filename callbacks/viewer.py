"""The image viewer and compare: open from any view, render the frame in a window, follow zoom, read pixels."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, ctx, html, no_update

from scatterloop.core.compare import nearest_experimental
from scatterloop.core.viewer import Window, pixel_info, region_from_ranges, render, view_png
from scatterloop.dashboard import figures_viewer, ids
from scatterloop.dashboard.components import viewer_view

from .services import Services

COMPARE_SIDE = 512


def window_from(scale, clip, show_mask) -> Window:
    low, high = (clip or (1.0, 99.8))[:2]
    return Window(scale=scale or "log", low=float(low), high=float(high), show_mask=bool(show_mask))


def viewer_title(services: Services, image_id) -> tuple[str, list]:
    img = services.store.get_image(int(image_id))
    if img is None:
        return f"Image {image_id}: no such image", []
    label = services.store.current_labels([img.id]).get(img.id)
    rows = [
        ("id", img.id),
        ("source", img.source),
        ("pattern", img.pattern),
        ("label", label.label if label else "unlabeled"),
        ("size", f"{img.height}×{img.width} {img.dtype}"),
        ("masked", f"{img.masked_fraction:.1%}"),
        ("round", img.round),
        ("prompt", img.prompt),
        ("seed", img.seed),
        ("text", img.description),
        ("from", img.original_name),
    ]
    title = f"Image {img.id} · {img.source} · {img.pattern or 'no pattern'} · {img.height}×{img.width}"
    return title, viewer_view.facts(rows)


def render_viewer(services: Services, image_id, window: Window, colourmap: str, region_data: dict | None):
    """(figure, caption) of the image in the window, the stored region at full resolution when it fits."""
    img = services.store.get_image(int(image_id))
    if img is None:
        raise ValueError(f"image {image_id}: no such image")
    region = None
    if region_data and region_data.get("image") == img.id:
        region = region_from_ranges(img.height, img.width, region_data.get("x"), region_data.get("y"))
    view = render(services.workspace, img.id, window, region)
    png = view_png(view, figures_viewer.colour_table(colourmap))
    return figures_viewer.viewer_figure(png, view, colourmap), figures_viewer.scale_caption(view)


def hover_readout(services: Services, image_id, hover: dict | None) -> str:
    points = (hover or {}).get("points") or []
    if image_id is None or not points or "x" not in points[0]:
        return no_update
    try:
        info = pixel_info(services.workspace, int(image_id), points[0]["x"], points[0]["y"])
    except ValueError:
        return no_update
    return viewer_view.readout(vars(info))


def compare(services: Services, image_id, other, nearest: bool, window: Window, colourmap: str):
    """(figure, info) of an image beside another, or beside its 3 nearest experimental frames."""
    if image_id is None:
        raise ValueError("open an image first")
    image_id = int(image_id)
    notes: list = []
    if nearest:
        near = nearest_experimental(services.workspace, image_id, k=3)
        others = near.ids
        extra = [f"distance {d:.3g}" for d in near.distances]
        notes.append(html.Div(f"Nearest experimental frames in the {near.space}."))
    else:
        if other in (None, ""):
            raise ValueError("compare: enter the id of the image to compare with")
        if services.store.get_image(int(other)) is None:
            raise ValueError(f"compare: image {int(other)}: no such image")
        others, extra = [int(other)], [""]
    chosen = [image_id, *others]
    images = {img.id: img for img in services.store.get_images(chosen)}
    labels = services.store.current_labels(chosen)
    table = figures_viewer.colour_table(colourmap)
    views, pngs, titles = [], [], []
    for k, i in enumerate(chosen):
        img = images[i]
        view = render(services.workspace, i, window, max_side=COMPARE_SIDE)
        views.append(view)
        pngs.append(view_png(view, table))
        lab = labels[i].label if i in labels else "unlabeled"
        tail = f" · {extra[k - 1]}" if k and extra[k - 1] else ""
        titles.append(f"#{i} {img.source} · {img.pattern or '?'}<br>{lab}{tail}")  # two lines: panels are narrow
    if figures_viewer.same_size(views):
        linked = "zoom and pan are linked"
    else:
        sizes = ", ".join(dict.fromkeys(f"{v.height}×{v.width}" for v in views))
        linked = f"the frames differ in size ({sizes}), so each panel shows its whole frame and zoom is not linked"
    notes.append(
        html.Div(
            f"Each image in its own {window.scale} window at the same percentiles; {linked}.", className="text-muted"
        )
    )
    buttons = [viewer_view.open_button(i, "compare", f"open #{i}", className="btn btn-sm btn-link") for i in chosen]
    notes.append(html.Div(["Open at full resolution: ", *buttons]))
    return figures_viewer.compare_figure(pngs, views, titles, colourmap), notes


def register(app, services: Services) -> None:
    window_inputs = [
        Input(ids.VIEWER_SCALE_RADIO, "value"),
        Input(ids.VIEWER_CLIP_SLIDER, "value"),
        Input(ids.VIEWER_MASK_SWITCH, "value"),
        Input(ids.VIEWER_COLOURMAP_SELECT, "value"),
    ]

    @app.callback(
        Output(ids.VIEWER_IMAGE_STORE, "data"),
        Output(ids.VIEWER_MODAL, "is_open"),
        Output(ids.VIEWER_TABS, "active_tab"),
        Input(ids.VIEWER_OPEN_ALL, "n_clicks"),
        prevent_initial_call=True,
    )
    def _open(_clicks):
        if not ctx.triggered or not ctx.triggered[0]["value"]:  # a button was drawn, not pressed
            return no_update, no_update, no_update
        return int(ctx.triggered_id["index"]), True, "image"

    @app.callback(
        Output(ids.VIEWER_TITLE, "children"),
        Output(ids.VIEWER_FACTS, "children"),
        Output(ids.VIEWER_REGION_STORE, "data"),
        Output(ids.VIEWER_READOUT, "children"),
        Output(ids.VIEWER_GRAPH, "relayoutData"),
        Input(ids.VIEWER_IMAGE_STORE, "data"),
        prevent_initial_call=True,
    )
    def _title(image_id):
        """A new image: its facts, the whole frame, and no zoom left over (so the same zoom on the next image is
        still a change)."""
        title, facts = viewer_title(services, image_id)
        return title, facts, None, "Hover for the pixel value; drag to zoom, double-click for the whole frame.", None

    # dcc.Graph drops a zoom or hover equal to the relayoutData/hoverData it held when it was mounted, and the modal
    # mounts it afresh on each opening, before the new image's facts arrive: let go of the last zoom and hover as
    # the modal closes (in the browser, no round trip), so the first zoom of the next opening is never dropped
    app.clientside_callback(
        "function (open) { const no = window.dash_clientside.no_update; return open ? [no, no] : [null, null]; }",
        Output(ids.VIEWER_GRAPH, "relayoutData", allow_duplicate=True),
        Output(ids.VIEWER_GRAPH, "hoverData"),
        Input(ids.VIEWER_MODAL, "is_open"),
        prevent_initial_call=True,
    )

    # a zoom, pan or reset -> the region to fetch, in the browser from the axes on screen (assets/viewer.js says why
    # not from the relayout event alone: a late autosize would replace a first zoom and lose it), with a caption
    # that says the region is being drawn at full resolution (at once; the render's own caption replaces it)
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop_viewer", function_name="region"),
        Output(ids.VIEWER_REGION_STORE, "data", allow_duplicate=True),
        Output(ids.VIEWER_CAPTION, "children", allow_duplicate=True),
        Input(ids.VIEWER_GRAPH, "relayoutData"),
        State(ids.VIEWER_IMAGE_STORE, "data"),
        State(ids.VIEWER_REGION_STORE, "data"),
        State(ids.VIEWER_GRAPH, "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.VIEWER_GRAPH, "figure"),
        Output(ids.VIEWER_CAPTION, "children"),
        Input(ids.VIEWER_IMAGE_STORE, "data"),
        Input(ids.VIEWER_REGION_STORE, "data"),
        *window_inputs,
        prevent_initial_call=True,
    )
    def _render(image_id, region, scale, clip, show_mask, colourmap):
        if image_id is None:
            return no_update, no_update
        return render_viewer(services, image_id, window_from(scale, clip, show_mask), colourmap, region)

    @app.callback(
        Output(ids.VIEWER_READOUT, "children", allow_duplicate=True),
        Input(ids.VIEWER_GRAPH, "hoverData"),
        State(ids.VIEWER_IMAGE_STORE, "data"),
        prevent_initial_call=True,
    )
    def _hover(hover, image_id):
        return hover_readout(services, image_id, hover)

    # the compare buttons say what they are drawing at once (the answer takes a second: nearest frames, 4 renders)
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop_viewer", function_name="compareAck"),
        Output(ids.COMPARE_INFO, "children", allow_duplicate=True),
        Input(ids.COMPARE_NEAREST_BUTTON, "n_clicks"),
        Input(ids.COMPARE_WITH_BUTTON, "n_clicks"),
        State(ids.VIEWER_IMAGE_STORE, "data"),
        State(ids.COMPARE_WITH_INPUT, "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.COMPARE_GRAPH, "figure"),
        Output(ids.COMPARE_INFO, "children"),
        Output(ids.VIEWER_TABS, "active_tab", allow_duplicate=True),
        Input(ids.COMPARE_NEAREST_BUTTON, "n_clicks"),
        Input(ids.COMPARE_WITH_BUTTON, "n_clicks"),
        State(ids.VIEWER_IMAGE_STORE, "data"),
        State(ids.COMPARE_WITH_INPUT, "value"),
        *[State(i.component_id, i.component_property) for i in window_inputs],
        prevent_initial_call=True,
    )
    def _compare(_near, _with, image_id, other, scale, clip, show_mask, colourmap):
        nearest = ctx.triggered_id == ids.COMPARE_NEAREST_BUTTON
        try:
            fig, info = compare(services, image_id, other, nearest, window_from(scale, clip, show_mask), colourmap)
        except ValueError as exc:  # no map yet, an unknown id: said where the user is looking
            return no_update, html.Div(f"Not compared: {exc}.", className="text-danger"), "compare"
        return fig, info, "compare"
