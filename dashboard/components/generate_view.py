"""The Generate tab: train the domain diffusion model (live loss curve) and sample candidates (live thumbnails)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import figures, ids
from .common import NO_TOOLBAR, job_controls
from .common import field as _field


def layout() -> html.Div:
    train = dbc.Card(
        [
            dbc.CardHeader("Train the domain model (from scratch, on the experimental frames and their descriptions)"),
            dbc.CardBody(
                [
                    _field(
                        "preset",
                        dcc.Dropdown(
                            id=ids.GEN_PRESET_SELECT,
                            value="cpu",
                            clearable=False,
                            options=[
                                {"label": "cpu: 64 px, ~15 min on 2 cores", "value": "cpu"},
                                {"label": "gpu: 256 px (CUDA, bf16/fp16)", "value": "gpu"},
                            ],
                            style={"minWidth": "16rem"},
                        ),
                    ),
                    _field(
                        "steps",
                        dbc.Input(
                            id=ids.GEN_TRAIN_STEPS_INPUT, type="number", step="any", placeholder="preset default"
                        ),
                    ),
                    _field(
                        "resume",
                        dcc.Dropdown(id=ids.GEN_RESUME_SELECT, placeholder="start fresh", style={"minWidth": "16rem"}),
                    ),
                    job_controls(ids.GEN_TRAIN_BUTTON, "Train", ids.GEN_TRAIN_CANCEL_BUTTON, ids.GEN_TRAIN_PROGRESS),
                    html.Div(id=ids.GEN_TRAIN_STATUS, className="small text-muted mb-2"),
                    dcc.Graph(
                        id=ids.GEN_LOSS_GRAPH,
                        figure=figures.loss_figure([]),
                        config=NO_TOOLBAR,
                        style={"height": "220px"},
                    ),
                ]
            ),
        ],
        className="mb-3",
    )
    sample = dbc.Card(
        [
            dbc.CardHeader("Generate candidates (registered unlabeled in the current round, with provenance)"),
            dbc.CardBody(
                [
                    _field(
                        "model",
                        dcc.Dropdown(
                            id=ids.GEN_CHECKPOINT_SELECT, placeholder="latest checkpoint", style={"minWidth": "20rem"}
                        ),
                    ),
                    _field(
                        "pattern",
                        dcc.Dropdown(
                            id=ids.GEN_PATTERN_SELECT, placeholder="any (free prompt)", style={"minWidth": "12rem"}
                        ),
                    ),
                    _field("prompt", dbc.Input(id=ids.GEN_PROMPT_INPUT, placeholder="e.g. rings of LaB6 at 12 keV")),
                    dbc.Row(
                        [
                            dbc.Col(
                                _field("count", dbc.Input(id=ids.GEN_COUNT_INPUT, type="number", value=16, step="any"))
                            ),
                            dbc.Col(
                                _field("seed", dbc.Input(id=ids.GEN_SEED_INPUT, type="number", value=0, step="any"))
                            ),
                        ]
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                _field("steps", dbc.Input(id=ids.GEN_STEPS_INPUT, type="number", value=25, step="any"))
                            ),
                            dbc.Col(
                                _field(
                                    "guidance",
                                    dbc.Input(id=ids.GEN_GUIDANCE_INPUT, type="number", value=2.0, step="any"),
                                )
                            ),
                        ]
                    ),
                    job_controls(ids.GEN_RUN_BUTTON, "Generate", ids.GEN_CANCEL_BUTTON, ids.GEN_PROGRESS),
                    html.Div(id=ids.GEN_STATUS, className="small text-muted mb-2"),
                    html.Div(id=ids.GEN_GALLERY, className="sl-grid sl-gallery"),
                ]
            ),
        ]
    )
    return html.Div(
        [
            dbc.Row([dbc.Col(train, md=5), dbc.Col(sample, md=7)], className="mt-2"),
            dcc.Store(id=ids.GEN_VERSION_STORE, data=0),
        ]
    )
