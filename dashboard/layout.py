"""The page: a navbar with the annotator's name, and the six tabs."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from scatterloop.core.store.undo import PERSON_MAX

from . import ids
from .components import (
    evaluate_view,
    explore_view,
    generate_view,
    jobs_view,
    label_view,
    search_view,
    train_view,
    viewer_view,
)
from .components.common import keep_settings
from .components.keys_help import keys_modal

# job settings a user tunes once and expects to find again after a reload (Explore's are set in its view)
KEPT_SETTINGS = (
    ids.GEN_PRESET_SELECT,
    ids.GEN_TRAIN_STEPS_INPUT,
    ids.GEN_PATTERN_SELECT,
    ids.GEN_COUNT_INPUT,
    ids.GEN_STEPS_INPUT,
    ids.GEN_GUIDANCE_INPUT,
    ids.TRAIN_TASK_SELECT,
    ids.TRAIN_RECIPE_SELECT,
    ids.TRAIN_MODELS_CHECKLIST,
    ids.TRAIN_EPOCHS_INPUT,
    ids.TRAIN_LR_INPUT,
    ids.TRAIN_BATCH_INPUT,
    ids.TRAIN_SIZE_INPUT,
    ids.TRAIN_COST_INPUT,
    ids.TRAIN_INIT_RADIO,
    ids.TRAIN_DEVICE_SELECT,
    ids.TRAIN_THRESHOLD_INPUT,
)


def build(
    labels: Sequence[str],
    workspace_name: str,
    models: Sequence[tuple[str, str]] = (),
    default_models: Sequence[str] = (),
) -> html.Div:
    navbar = dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    ["scatterloop", html.Small(f"  workspace: {workspace_name}", className="ms-2 text-light")]
                ),
                search_view.search_box(),
                dbc.InputGroup(
                    [
                        dbc.InputGroupText("annotator"),
                        dbc.Input(
                            id=ids.ANNOTATOR_INPUT,
                            placeholder="your name",
                            maxLength=PERSON_MAX,
                            persistence=True,
                            persistence_type="local",
                            debounce=True,
                            type="text",
                        ),
                    ],
                    size="sm",
                    style={"maxWidth": "20rem"},
                    className="ms-auto me-2",
                ),
                html.Button(
                    ["Keys ", html.Kbd("?")],
                    id=ids.KEYS_BUTTON,
                    className="btn btn-sm btn-outline-light",
                    title="Keyboard shortcuts",
                    **{"data-shortcut": "?"},
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-2",
    )
    tabs = dbc.Tabs(
        [
            dbc.Tab(explore_view.layout(labels), label="Explore", tab_id="explore"),
            dbc.Tab(label_view.layout(labels), label="Label", tab_id="label"),
            dbc.Tab(generate_view.layout(), label="Generate", tab_id="generate"),
            dbc.Tab(train_view.layout(models, default_models), label="Train", tab_id="train"),
            dbc.Tab(evaluate_view.layout(), label="Evaluate", tab_id="evaluate"),
            dbc.Tab(jobs_view.layout(), label="Jobs", tab_id="jobs"),
        ],
        id=ids.TABS,
        active_tab="label",
    )
    keep_settings(tabs, KEPT_SETTINGS)
    error = dbc.Alert(id=ids.APP_ERROR, color="danger", dismissable=True, is_open=False, className="py-2")
    runs = [dcc.Store(id=ids.job_run(bar)) for bar in ids.JOB_PROGRESS_BARS]
    runs += [dcc.Store(id=ids.job_resume(bar)) for bar in ids.JOB_PROGRESS_BARS]
    runs += [dcc.Store(id=ids.tab_shown(tab)) for tab in ids.TAB_NAMES]  # callbacks/tabs.py
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            dcc.Interval(id=ids.PAGE_LOADED, interval=300, max_intervals=1),
            *runs,
            navbar,
            dbc.Container([error, search_view.results_panel(), tabs], fluid=True),
            viewer_view.modal(),
            keys_modal(labels),
        ]
    )
