"""Explore tab callbacks: the map job, the figure, hover thumbnails, click detail, lasso gallery, bulk relabel."""

from __future__ import annotations

from dash import Input, Output, Patch, State, ctx, html, no_update

from core.explore import GROUPS, groups_for, map_table, polar_view, reconstruction_png
from core.labelling import check_label_request
from dashboard import figures, ids
from dashboard.components import explore_view, viewer_view
from dashboard.components.label_view import status

from .explore_map import feature_choices, run_map_job, separation_panel
from .label import history_rows
from .media import thumb_url
from .services import Services, job_process

GALLERY_PAGE = 24


def categories(services: Services, colour_by: str) -> list[str] | None:
    """Fixed trace order for the colourings a relabel can change, so a Patch knows which trace is which."""
    if colour_by == "group":
        return list(GROUPS)
    if colour_by == "label":
        return [*services.settings.labels, "unlabeled"]
    return None


def map_figure(services: Services, colour_by: str, dims: int):
    table = map_table(services.workspace)
    if table.run_id is None or len(table.ids) == 0:
        return figures.empty_map("No map yet: press “Build map” (autoencoder + UMAP of every image)."), None
    coords = (table.xy if dims == 2 else table.xyz).tolist()
    fig = figures.map_figure(
        table.ids.tolist(), coords, table.columns[colour_by], colour_by, dims, categories(services, colour_by)
    )
    return fig, table.run_id


def selection_ids(selected: dict | None) -> list[int]:
    """Image ids of a lasso/box selection (from customdata; the browser holds ids only)."""
    if not selected:
        return []
    return list(dict.fromkeys(int(p["customdata"]) for p in selected.get("points", []) if "customdata" in p))


def gallery(services: Services, selection: list[int], page: int):
    """One page of the selection's thumbnails and the count line."""
    total = len(selection or [])
    page_ids = (selection or [])[page * GALLERY_PAGE : (page + 1) * GALLERY_PAGE]
    images = services.store.get_images(page_ids)
    labels = services.store.current_labels(page_ids)
    cards = [
        explore_view.gallery_card(
            img.id,
            thumb_url(img.sha256),
            f"#{img.id} {img.pattern or ''}",
            labels[img.id].label if img.id in labels else None,
        )
        for img in images
    ]
    pages = max(1, -(-total // GALLERY_PAGE))
    return cards, (f"{total} selected · page {page + 1}/{pages}" if total else "Nothing selected")


def relabel(services: Services, label: str, selection: list[int], annotator: str | None, colour_by: str, dims: int):
    """Label the whole selection; returns (message, ok, patch for the figure or None)."""
    if not selection:
        return "Select points with the lasso or box first.", False, None
    if not annotator or not annotator.strip():
        return "Enter your name as annotator (top right) before labelling.", False, None
    try:
        selection = check_label_request(services.store, services.settings.labels, label, selection)
    except ValueError as exc:
        return f"Not labelled: {exc}.", False, None
    cats = categories(services, colour_by)
    before = groups_for(services.workspace, selection) if colour_by == "group" else None
    round_no = services.store.current_round()
    services.store.add_labels(selection, label, annotator=annotator.strip(), round=round_no)
    message = f"Labelled {len(selection)} image(s) '{label}' as {annotator.strip()} (round {round_no})."
    if cats is None:
        return message, True, None
    affected = set(before.values()) | {"realistic", "fake"} if colour_by == "group" else set(cats)
    return message, True, recolour_patch(services, colour_by, dims, cats, affected)


def recolour_patch(services: Services, colour_by: str, dims: int, cats: list[str], affected: set[str]) -> Patch:
    """Patch only the traces whose membership changed: their coordinates and ids, nothing else."""
    table = map_table(services.workspace)
    values = table.columns[colour_by]
    coords = table.xy if dims == 2 else table.xyz
    patch = Patch()
    for k, cat in enumerate(cats):
        if cat not in affected:
            continue
        idx = [i for i, v in enumerate(values) if v == cat]
        patch["data"][k]["x"] = coords[idx, 0].tolist()
        patch["data"][k]["y"] = coords[idx, 1].tolist()
        if dims == 3:
            patch["data"][k]["z"] = coords[idx, 2].tolist()
        patch["data"][k]["customdata"] = table.ids[idx].tolist()
        patch["data"][k]["name"] = figures.legend_name(cat, len(idx))
    patch["layout"]["title"]["text"] = (
        f"{len(table.ids)} images · coloured by {figures.COLOUR_NAMES.get(colour_by, colour_by)}"
    )
    return patch


def detail(services: Services, image_id: int, map_run_id: int | None):
    img = services.store.get_image(image_id)
    if img is None:
        return "No such image."
    return html.Div([viewer_view.open_button(img.id, "explore"), detail_body(services, img, map_run_id)])


def detail_body(services: Services, img, map_run_id: int | None):
    pv = polar_view(services.workspace, img.id)
    try:
        recon = reconstruction_png(services.workspace, int(map_run_id), img.id) if map_run_id else None
    except (ValueError, TypeError, FileNotFoundError):  # a map run id the workspace does not hold
        recon = None
    history = history_rows(services, img.id)
    fields = {
        c: getattr(img, c)
        for c in (
            "id",
            "source",
            "pattern",
            "original_name",
            "description",
            "prompt",
            "seed",
            "run_id",
            "round",
            "provenance",
        )
    }
    return explore_view.detail(
        fields,
        thumb_url(img.sha256),
        f"/media/recon/{map_run_id}/{img.sha256}.png" if recon else None,
        f"/media/polar/{img.sha256}.png",
        {
            "score": pv.score,
            "centre_x": pv.centre_x,
            "centre_y": pv.centre_y,
            "source": pv.source,
            "status": pv.status,
            "confidence": pv.confidence,
            "reason": pv.reason,
        },
        figures.profile_figure(pv.r, pv.intensity),
        history,
    )


def register(app, services: Services) -> None:
    store = services.store

    @app.callback(
        Output(ids.EXPLORE_JOB_STATUS, "children"),
        Output(ids.EXPLORE_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.EXPLORE_BUILD_BUTTON, "n_clicks"),
        Input(ids.EXPLORE_RELAYOUT_BUTTON, "n_clicks"),
        Input(ids.EXPLORE_PLACE_BUTTON, "n_clicks"),
        Input(ids.EXPLORE_SYMMETRY_BUTTON, "n_clicks"),
        State(ids.EXPLORE_METHOD_RADIO, "value"),
        State(ids.EXPLORE_SEED_INPUT, "value"),
        State(ids.EXPLORE_EPOCHS_INPUT, "value"),
        State(ids.EXPLORE_FEATURES_SELECT, "value"),
        State(ids.EXPLORE_VERSION_STORE, "data"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.EXPLORE_BUILD_BUTTON, "disabled"), True, False),
            (Output(ids.EXPLORE_RELAYOUT_BUTTON, "disabled"), True, False),
            (Output(ids.EXPLORE_PLACE_BUTTON, "disabled"), True, False),
            (Output(ids.EXPLORE_SYMMETRY_BUTTON, "disabled"), True, False),
            (Output(ids.EXPLORE_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[Output(ids.EXPLORE_PROGRESS, "value"), Output(ids.EXPLORE_PROGRESS, "label")],
    )
    @job_process
    def _map_job(set_progress, _build, _relayout, _place, _symmetry, method, seed, epochs, features, version):
        action = {
            ids.EXPLORE_RELAYOUT_BUTTON: "relayout",
            ids.EXPLORE_PLACE_BUTTON: "place",
            ids.EXPLORE_SYMMETRY_BUTTON: "symmetry",
        }.get(ctx.triggered_id, "build")

        def progress(done, total, message=""):
            pct = int(100 * done / max(total, 1))
            set_progress((pct, f"{pct}% {message[:40]}"))

        message = run_map_job(services, action, method, seed, epochs, progress, features)
        return message, (version or 0) + 1

    @app.callback(
        Output(ids.EXPLORE_JOB_STATUS, "children", allow_duplicate=True),
        Input(ids.EXPLORE_CANCEL_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def _cancel(_n):
        runs = store.request_cancel(("embed", "place", "symmetry"))
        return f"Cancelling run {', '.join(map(str, runs))}…" if runs else "Nothing running."

    @app.callback(
        Output(ids.EXPLORE_GRAPH, "figure"),
        Output(ids.EXPLORE_RUN_STORE, "data"),
        Input(ids.EXPLORE_VERSION_STORE, "data"),
        Input(ids.EXPLORE_COLOUR_SELECT, "value"),
        Input(ids.EXPLORE_DIMS_RADIO, "value"),
        Input(ids.TABS, "active_tab"),
    )
    def _figure(_version, colour_by, dims, tab):
        if tab != "explore":
            return no_update, no_update
        return map_figure(services, colour_by, int(dims))

    @app.callback(Output(ids.EXPLORE_SEPARATION, "children"), Input(ids.EXPLORE_RUN_STORE, "data"))
    def _separation(run_id):
        return separation_panel(services, run_id)

    @app.callback(Output(ids.EXPLORE_FEATURES_SELECT, "options"), Input(ids.TABS, "active_tab"))
    def _feature_options(tab):
        return feature_choices(services) if tab == "explore" else no_update

    @app.callback(
        Output(ids.EXPLORE_TOOLTIP, "show"),
        Output(ids.EXPLORE_TOOLTIP, "bbox"),
        Output(ids.EXPLORE_TOOLTIP, "children"),
        Input(ids.EXPLORE_GRAPH, "hoverData"),
    )
    def _hover(hover):
        if not hover or not hover.get("points") or "customdata" not in hover["points"][0]:
            return False, no_update, no_update
        point = hover["points"][0]
        img = store.get_image(int(point["customdata"]))
        if img is None:
            return False, no_update, no_update
        return True, point.get("bbox"), explore_view.tooltip(thumb_url(img.sha256), f"#{img.id} {img.pattern or ''}")

    @app.callback(
        Output(ids.EXPLORE_DETAIL, "children"),
        Input(ids.EXPLORE_GRAPH, "clickData"),
        State(ids.EXPLORE_RUN_STORE, "data"),
        prevent_initial_call=True,
    )
    def _click(click, run_id):
        points = (click or {}).get("points") or []
        if not points or "customdata" not in points[0]:
            return no_update
        return detail(services, int(points[0]["customdata"]), run_id)

    @app.callback(
        Output(ids.EXPLORE_SELECTION_STORE, "data"),
        Output(ids.EXPLORE_GALLERY_PAGE_STORE, "data"),
        Input(ids.EXPLORE_GRAPH, "selectedData"),
        prevent_initial_call=True,
    )
    def _select(selected):
        return selection_ids(selected), 0

    @app.callback(
        Output(ids.EXPLORE_GALLERY_PAGE_STORE, "data", allow_duplicate=True),
        Input(ids.EXPLORE_GALLERY_PREV_BUTTON, "n_clicks"),
        Input(ids.EXPLORE_GALLERY_NEXT_BUTTON, "n_clicks"),
        State(ids.EXPLORE_GALLERY_PAGE_STORE, "data"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        prevent_initial_call=True,
    )
    def _page(_p, _n, page, selection):
        last = max(0, -(-len(selection or []) // GALLERY_PAGE) - 1)
        step = 1 if ctx.triggered_id == ids.EXPLORE_GALLERY_NEXT_BUTTON else -1
        return min(max((page or 0) + step, 0), last)

    @app.callback(
        Output(ids.EXPLORE_GALLERY, "children"),
        Output(ids.EXPLORE_GALLERY_COUNT, "children"),
        Input(ids.EXPLORE_SELECTION_STORE, "data"),
        Input(ids.EXPLORE_GALLERY_PAGE_STORE, "data"),
        Input(ids.EXPLORE_VERSION_STORE, "data"),
        Input(ids.EXPLORE_STATUS, "children"),
    )
    def _gallery(selection, page, _version, _status):
        return gallery(services, selection or [], page or 0)

    @app.callback(
        Output(ids.EXPLORE_STATUS, "children"),
        Output(ids.EXPLORE_GRAPH, "figure", allow_duplicate=True),
        Input(ids.EXPLORE_BUTTON_ALL, "n_clicks"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.EXPLORE_COLOUR_SELECT, "value"),
        State(ids.EXPLORE_DIMS_RADIO, "value"),
        prevent_initial_call=True,
    )
    def _relabel(_clicks, selection, annotator, colour_by, dims):
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update
        message, ok, patch = relabel(
            services, ctx.triggered_id["label"], selection or [], annotator, colour_by, int(dims)
        )
        return status(message, ok), (patch if patch is not None else no_update)

    @app.callback(
        Output(ids.EXPLORE_STATUS, "children", allow_duplicate=True),
        Output(ids.EXPLORE_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.EXPLORE_UNDO_BUTTON, "n_clicks"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.EXPLORE_VERSION_STORE, "data"),
        prevent_initial_call=True,
    )
    def _undo(_n, annotator, version):
        if not annotator or not annotator.strip():
            return status("Enter your name as annotator to undo.", False), no_update
        n = store.undo_last(annotator.strip())
        return status(f"Undid your last action ({n} image(s))." if n else "Nothing of yours to undo.", n > 0), (
            (version or 0) + 1 if n else no_update
        )
