"""Explore tab callbacks: the map job, the figure, hover thumbnails, click detail, lasso gallery, bulk relabel."""

from __future__ import annotations

from dash import Input, Output, Patch, State, ctx, html, no_update

from scatterloop.core.explore import map_table, polar_view, reconstruction_png
from scatterloop.core.io_safety import ImageReadError, one_line, os_reason
from scatterloop.core.qprofile import image_profile, profile_dict
from scatterloop.dashboard import figures, ids
from scatterloop.dashboard.components import explore_detail, profile_view, viewer_view
from scatterloop.dashboard.components.label_view import status

from . import explore_ack
from .explore_map import feature_choices, run_map_job, separation_panel, watch_map_job
from .explore_selection import GALLERY_PAGE, categories, full_figure, gallery, relabel, undo
from .job_status import replace_on_start
from .job_watch import cancel, take_up
from .label import history_rows
from .media import polar_url, thumb_url
from .services import Services


def map_figure(services: Services, colour_by: str, dims: int, selected: list[int] | None = None):
    table = map_table(services.workspace)
    if table.run_id is None or len(table.ids) == 0:
        return figures.empty_map("No map yet: press “Build map” (autoencoder + UMAP of every image)."), None
    # the lasso's selection stays drawn under a new colouring
    return full_figure(services, colour_by, dims, selected, table), table.run_id


def detail(services: Services, image_id: int, map_run_id: int | None):
    img = services.store.get_image(image_id)
    if img is None:
        return "No such image."
    try:
        body = detail_body(services, img, map_run_id)
    except (OSError, ImageReadError) as exc:  # the stored original went missing or cannot be read
        reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
        body = status(
            f"#{img.id} ({img.original_name or img.sha256[:12]}): its stored original cannot be read "
            f"({one_line(reason)}), so no warp or profile; the server and the workers must see the same workspace"
            " folder",
            False,
        )
    return html.Div([viewer_view.open_button(img.id, "explore"), body])


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
    return explore_detail.detail(
        fields,
        thumb_url(img.sha256),
        f"/media/recon/{map_run_id}/{img.sha256}.png" if recon else None,
        polar_url(pv.warp_png),
        {
            "score": pv.score,
            "centre_x": pv.centre_x,
            "centre_y": pv.centre_y,
            "source": pv.source,
            "status": pv.status,
            "confidence": pv.confidence,
            "reason": pv.reason,
            "notes": pv.notes,
            "r_max": float(max(pv.r)) if len(pv.r) else None,
        },
        profile_view.profile_block(profile_dict(image_profile(services.workspace, img.id), with_cake=True)),
        history,
    )


def answered(services: Services, message: str, ok: bool, patch, labelled: int | None, colour_by: str):
    """A relabel's or undo's outputs: the status line, the figure's patch, (when labels changed) the counter that
    redraws the gallery's badges, and (when the figure was drawn again rather than patched) its traces."""
    redrawn = patch is not None and not isinstance(patch, Patch)
    return (
        status(message, ok),
        (patch if patch is not None else no_update),
        ((labelled or 0) + 1 if ok else no_update),
        categories(services, colour_by) if redrawn else no_update,
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
        Input(ids.job_resume(ids.EXPLORE_PROGRESS), "data"),
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
    def _map_job(
        set_progress, _build, _relayout, _place, _symmetry, taken_up, method, seed, epochs, features, version
    ):
        if ctx.triggered_id == ids.job_resume(ids.EXPLORE_PROGRESS):  # a reloaded page takes up its run
            said = take_up(
                services, taken_up, ids.EXPLORE_PROGRESS, lambda r: watch_map_job(services, r.id, r.kind, set_progress)
            )
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        action = {
            ids.EXPLORE_RELAYOUT_BUTTON: "relayout",
            ids.EXPLORE_PLACE_BUTTON: "place",
            ids.EXPLORE_SYMMETRY_BUTTON: "symmetry",
        }.get(ctx.triggered_id, "build")
        message = run_map_job(services, action, method, seed, epochs, set_progress, features)
        return message, (version or 0) + 1

    # the last job's outcome ("cancelled: nothing registered.") must not stand beside a new job's bar
    map_buttons = [ids.EXPLORE_BUILD_BUTTON, ids.EXPLORE_RELAYOUT_BUTTON, ids.EXPLORE_PLACE_BUTTON]
    replace_on_start(
        app, ids.EXPLORE_JOB_STATUS, [*map_buttons, ids.EXPLORE_SYMMETRY_BUTTON], ids.EXPLORE_PROGRESS, "map job"
    )

    @app.callback(
        Output(ids.EXPLORE_JOB_STATUS, "children", allow_duplicate=True),
        Input(ids.EXPLORE_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.EXPLORE_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel(_n, run_id):
        return cancel(services, run_id, "map run")

    @app.callback(
        Output(ids.EXPLORE_GRAPH, "figure"),
        Output(ids.EXPLORE_RUN_STORE, "data"),
        Output(ids.EXPLORE_DRAWN_STORE, "data"),
        Input(ids.EXPLORE_VERSION_STORE, "data"),
        Input(ids.EXPLORE_COLOUR_SELECT, "value"),
        Input(ids.EXPLORE_DIMS_RADIO, "value"),
        Input(ids.tab_shown("explore"), "data"),
        State(ids.TABS, "active_tab"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
    )
    def _figure(_version, colour_by, dims, _shown, tab, selection):
        if tab != "explore":
            return no_update, no_update, no_update
        return (*map_figure(services, colour_by, int(dims), selection), categories(services, colour_by))

    @app.callback(Output(ids.EXPLORE_SEPARATION, "children"), Input(ids.EXPLORE_RUN_STORE, "data"))
    def _separation(run_id):
        return separation_panel(services, run_id)

    @app.callback(Output(ids.EXPLORE_FEATURES_SELECT, "options"), Input(ids.tab_shown("explore"), "data"))
    def _feature_options(shown):
        return feature_choices(services) if shown is not None else no_update  # None: the page's first call

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
        return True, point.get("bbox"), explore_detail.tooltip(thumb_url(img.sha256), f"#{img.id} {img.pattern or ''}")

    @app.callback(
        Output(ids.EXPLORE_DETAIL, "children"),
        Output(ids.EXPLORE_SIDE_TABS, "active_tab"),
        Input(ids.EXPLORE_GRAPH, "clickData"),
        Input(ids.EXPLORE_DETAIL_STORE, "data"),
        State(ids.EXPLORE_RUN_STORE, "data"),
        prevent_initial_call=True,
    )
    def _click(click, card, run_id):
        if ctx.triggered_id == ids.EXPLORE_GRAPH:
            points = (click or {}).get("points") or []
            if not points or "customdata" not in points[0]:
                return no_update, no_update
            image_id = int(points[0]["customdata"])
        elif card and card.get("image") is not None:
            image_id = int(card["image"])  # a gallery card was clicked (explore_ack: not merely redrawn)
        else:
            return no_update, no_update
        return detail(services, image_id, run_id), "detail"

    explore_ack.register(app)  # the lasso's selection, relabel/undo acknowledgements, card clicks: in the browser

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
        Output(ids.EXPLORE_SELECTION_KINDS, "children"),
        Output(ids.EXPLORE_SELECTION_TAB, "label"),
        Input(ids.EXPLORE_SELECTION_STORE, "data"),
        Input(ids.EXPLORE_GALLERY_PAGE_STORE, "data"),
        Input(ids.EXPLORE_VERSION_STORE, "data"),
        Input(ids.EXPLORE_LABELLED_STORE, "data"),
    )
    def _gallery(selection, page, _version, _labelled):
        n = len(selection or [])
        return *gallery(services, selection or [], page or 0), (f"Selection ({n})" if n else "Selection")

    @app.callback(
        Output(ids.EXPLORE_STATUS, "children"),
        Output(ids.EXPLORE_GRAPH, "figure", allow_duplicate=True),
        Output(ids.EXPLORE_LABELLED_STORE, "data"),
        Output(ids.EXPLORE_DRAWN_STORE, "data", allow_duplicate=True),
        Input(ids.EXPLORE_BUTTON_ALL, "n_clicks"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.EXPLORE_COLOUR_SELECT, "value"),
        State(ids.EXPLORE_DIMS_RADIO, "value"),
        State(ids.EXPLORE_INCLUDE_EXPERIMENTAL, "value"),
        State(ids.EXPLORE_LABELLED_STORE, "data"),
        State(ids.EXPLORE_DRAWN_STORE, "data"),
        prevent_initial_call=True,
    )
    def _relabel(_clicks, selection, annotator, colour_by, dims, include_experimental, labelled, drawn):
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update, no_update, no_update
        message, ok, patch = relabel(
            services,
            ctx.triggered_id["label"],
            selection or [],
            annotator,
            colour_by,
            int(dims),
            bool(include_experimental),
            drawn_cats=drawn,
        )
        return answered(services, message, ok, patch, labelled, colour_by)

    @app.callback(
        Output(ids.EXPLORE_STATUS, "children", allow_duplicate=True),
        Output(ids.EXPLORE_GRAPH, "figure", allow_duplicate=True),
        Output(ids.EXPLORE_LABELLED_STORE, "data", allow_duplicate=True),
        Output(ids.EXPLORE_DRAWN_STORE, "data", allow_duplicate=True),
        Input(ids.EXPLORE_UNDO_BUTTON, "n_clicks"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.EXPLORE_COLOUR_SELECT, "value"),
        State(ids.EXPLORE_DIMS_RADIO, "value"),
        State(ids.EXPLORE_LABELLED_STORE, "data"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        State(ids.EXPLORE_DRAWN_STORE, "data"),
        prevent_initial_call=True,
    )
    def _undo(_n, annotator, colour_by, dims, labelled, selection, drawn):
        result = undo(services, annotator, colour_by, int(dims), selection, drawn_cats=drawn)
        return answered(services, *result, labelled, colour_by)
