"""The Train tab: run a classifier round (live curves), read the paper's Table 3 and the confusion
matrices, predict candidates, pre-label, open review queues, and look at saliency / Grad-CAM maps."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from scatterloop.core.classify.tables import metrics_meaning

from .. import figures, ids
from ..figures_train import GRAPH_CONFIG, learning_curve_figure
from .common import NO_TOOLBAR, compact, job_controls, loading, progress_bar
from .common import field as _field

METRIC_NAMES = {"accuracy": "acc", "precision": "prec", "recall": "rec", "f1": "F1"}


def _number(label: str, component_id: str, **kwargs) -> dbc.InputGroup:
    """A number field left blank: blank means the recipe's value, shown as its placeholder."""
    # any number is sent as typed (a box's min or step would send an invalid value as blank: the recipe's)
    return _field(label, dbc.Input(id=component_id, type="number", value=None, step="any", **kwargs))


def _review_button(text: str, button_id: str, title: str | None = None):
    """One button of the review row: each opens a queue in the Label tab."""
    return dbc.Button(text, id=button_id, color="warning", size="sm", className="me-2 mb-1", title=title)


def layout(models: Sequence[tuple[str, str]], default_models: Sequence[str]) -> html.Div:
    """`models`: (registry name, label shown) pairs."""
    run = dbc.Card(
        [
            dbc.CardHeader("Run a round (blank fields: the recipe's value)"),
            dbc.CardBody(
                [
                    _field(
                        "task",
                        dcc.Dropdown(
                            id=ids.TRAIN_TASK_SELECT,
                            value="realism",
                            clearable=False,
                            options=[
                                {"label": "realistic / fake (4:6 hybrid set)", "value": "realism"},
                                {"label": "pattern (recorded at import) of the sources below", "value": "pattern"},
                                {"label": "any human labels (e.g. disk counts)", "value": "labels"},
                            ],
                            style={"minWidth": "16rem"},
                        ),
                    ),
                    html.Div(  # a pattern round's: simulated frames carry their truth, so a classifier can
                        # learn from them alone and then predict experimental frames
                        [
                            html.Span("learn from ", className="small text-muted me-1"),
                            dbc.Checklist(
                                id=ids.TRAIN_SOURCES_CHECKLIST,
                                options=[{"label": s, "value": s} for s in ("experimental", "simulated", "generated")],
                                value=["experimental"],
                                inline=True,
                                className="small d-inline-block",
                            ),
                        ],
                        id=ids.TRAIN_SOURCES_BLOCK,
                        style={"display": "none"},
                        className="mb-1",
                    ),
                    html.Div("models", className="small text-muted"),
                    dbc.Checklist(
                        id=ids.TRAIN_MODELS_CHECKLIST,
                        options=[{"label": text, "value": name} for name, text in models],
                        value=list(default_models),
                        inline=True,
                        className="small mb-1",
                    ),
                    html.Div(id=ids.TRAIN_WEIGHTS_NOTE, className="small text-muted mb-2"),
                    _field(
                        "recipe",
                        dcc.Dropdown(
                            id=ids.TRAIN_RECIPE_SELECT,
                            value="ours",
                            clearable=False,
                            options=[
                                {"label": "ours (physics models: linear + forest, calibrated)", "value": "ours"},
                                {"label": "gpu (physics + ResNet-18, 128 px)", "value": "gpu"},
                                {"label": "paper (ResNet-18, Adam 1e-4, 5 epochs, 64 px)", "value": "paper"},
                                {"label": "pattern (small ResNet, 96 px, 40 epochs)", "value": "pattern"},
                            ],
                            style={"minWidth": "16rem"},
                        ),
                    ),
                    dbc.Row(
                        [
                            dbc.Col(_number("epochs", ids.TRAIN_EPOCHS_INPUT)),
                            dbc.Col(_number("lr", ids.TRAIN_LR_INPUT)),
                        ]
                    ),
                    dbc.Row(
                        [
                            dbc.Col(_number("batch", ids.TRAIN_BATCH_INPUT)),
                            dbc.Col(_number("input px", ids.TRAIN_SIZE_INPUT)),
                        ]
                    ),
                    html.Div(
                        "a blank box takes the recipe's value (grey); input px \"each model's own\": 224, "
                        "Inception 299",
                        className="small",
                    ),
                    html.Div(  # a realism round's: hidden for the pattern and labels tasks
                        [
                            _number("false realistic call costs", ids.TRAIN_COST_INPUT),
                            html.Div(
                                "× a missed realistic image: models and votes call an image realistic above "
                                "P = c / (1 + c) (1: above 0.5)",
                                className="small",
                            ),
                        ],
                        id=ids.TRAIN_COST_BLOCK,
                    ),
                    dbc.RadioItems(
                        id=ids.TRAIN_INIT_RADIO,
                        options=[
                            {"label": "from scratch", "value": "scratch"},
                            {"label": "fine-tune the previous round's models", "value": "finetune"},
                        ],
                        value="scratch",
                        inline=True,
                        className="small my-1",
                    ),
                    _field(
                        "device",
                        dcc.Dropdown(
                            id=ids.TRAIN_DEVICE_SELECT,
                            value="auto",
                            clearable=False,
                            options=[
                                {"label": "auto (CUDA when present)", "value": "auto"},
                                {"label": "cpu", "value": "cpu"},
                                {"label": "cuda", "value": "cuda"},
                            ],
                            style={"minWidth": "12rem"},
                        ),
                    ),
                    dbc.Switch(
                        id=ids.TRAIN_NEXT_ROUND_SWITCH,
                        label="open the next round first",
                        value=False,
                        className="small",
                    ),
                    job_controls(ids.TRAIN_RUN_BUTTON, "Train round", ids.TRAIN_CANCEL_BUTTON, ids.TRAIN_PROGRESS),
                    html.Div(id=ids.TRAIN_STATUS, className="small text-muted mb-2"),
                    dcc.Graph(id=ids.TRAIN_CURVES_GRAPH, figure=figures.curves_figure({}), config=NO_TOOLBAR),
                ]
            ),
        ],
        className="mb-3",
    )
    review = dbc.Card(
        [
            dbc.CardHeader("Predict, pre-label, review"),
            dbc.CardBody(
                [
                    html.Div(
                        [
                            dbc.Button(
                                "Predict unlabeled candidates",
                                id=ids.TRAIN_PREDICT_BUTTON,
                                color="secondary",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id=ids.TRAIN_PREDICT_CANCEL_BUTTON,
                                color="danger",
                                outline=True,
                                size="sm",
                                className="me-2",
                                disabled=True,
                            ),
                        ],
                        className="d-flex align-items-center mb-1",
                    ),
                    progress_bar(ids.TRAIN_PREDICT_PROGRESS),
                    html.Div(
                        [
                            compact(
                                "threshold",
                                dbc.Input(
                                    id=ids.TRAIN_THRESHOLD_INPUT, type="number", value=0.9, min=0.5, max=1, step="any"
                                ),
                            ),
                            dbc.Button("Pre-label", id=ids.TRAIN_PRELABEL_BUTTON, color="secondary", size="sm"),
                        ],
                        className="d-flex align-items-center mb-2",
                    ),
                    html.Div(
                        [
                            _review_button("Review uncertain", ids.TRAIN_REVIEW_UNCERTAIN_BUTTON),
                            _review_button("Review disagreements", ids.TRAIN_REVIEW_DISAGREE_BUTTON),
                            _review_button(
                                "Review doubted labels",
                                ids.TRAIN_REVIEW_DOUBTED_BUTTON,
                                title="Labels the last round's models, not trained on them, give under 10 % chance: "
                                "most often a slip. Labelling one again takes it off the list.",
                            ),
                        ],
                        className="mb-2",
                    ),
                    html.Div(id=ids.TRAIN_REVIEW_STATUS, className="small text-muted", role="status"),
                ]
            ),
        ],
        className="mb-3",
    )
    results = dbc.Card(
        [
            dbc.CardHeader("Results by round (held-out validation set: grows with the labels, never trained on)"),
            dbc.CardBody(
                [
                    loading(html.Div(id=ids.TRAIN_TABLE, className="mb-3 sl-table-scroll")),
                    html.Div(
                        "Does labelling more still pay? Each finished round of the task is a point.",
                        className="small text-muted ",
                    ),
                    dcc.Graph(id=ids.TRAIN_LEARNING_GRAPH, figure=learning_curve_figure({}), config=GRAPH_CONFIG),
                    _field(
                        "confusion of",
                        dcc.Dropdown(id=ids.TRAIN_RUN_SELECT, placeholder="latest round", style={"minWidth": "16rem"}),
                    ),
                    html.Div("Click a cell to open those images in Label.", className="small text-muted"),
                    loading(
                        dcc.Graph(id=ids.TRAIN_CONFUSION_GRAPH, figure=figures.confusion_figure([]), config=NO_TOOLBAR)
                    ),
                ]
            ),
        ],
        className="mb-3",
    )
    explain = dbc.Card(
        [
            dbc.CardHeader("Why: saliency and Grad-CAM"),
            dbc.CardBody(
                [
                    html.Div(
                        [
                            compact(
                                "image #", dbc.Input(id=ids.TRAIN_EXPLAIN_IMAGE_INPUT, type="number", min=1), "11rem"
                            ),
                            html.Div(  # the margin on a wrapper: Dash 4's dropdown does not apply it
                                dcc.Dropdown(
                                    id=ids.TRAIN_EXPLAIN_MODEL_SELECT, placeholder="model", style={"minWidth": "10rem"}
                                ),
                                className="me-2",
                            ),
                            dbc.Button("Explain", id=ids.TRAIN_EXPLAIN_BUTTON, color="secondary", size="sm"),
                        ],
                        className="d-flex align-items-center mb-2",
                    ),
                    loading(html.Div(id=ids.TRAIN_EXPLAIN_PANEL)),
                ]
            ),
        ]
    )
    return html.Div(
        [
            dbc.Row([dbc.Col([run, review], md=4), dbc.Col([results, explain], md=8)], className="mt-2"),
            dcc.Store(id=ids.TRAIN_VERSION_STORE, data=0),
        ]
    )


def metrics_table(table: dict) -> html.Div:
    """The paper's Table 3: a row per model and voting scheme, four metrics under each round's column."""
    if not table["columns"]:
        return html.Div("No finished round yet.", className="text-muted small")
    cols = table["columns"]
    head1 = [html.Th("")] + [
        html.Th(
            [c["label"], html.Div(f"{c['train']} train · {c['validation']} val", className="fw-normal small")],
            colSpan=len(table["metrics"]),
            className="text-center",
        )
        for c in cols
    ]
    head2 = [html.Th("model / vote")] + [
        html.Th(METRIC_NAMES[m], className="text-end small") for _ in cols for m in table["metrics"]
    ]
    body = []
    for row in table["rows"]:
        best = row["kind"] == "vote"
        cells = [html.Td(row["name"], className="fw-semibold" if best else "")]
        for c in cols:
            values = row["cells"].get(str(c["run_id"]))
            for m in table["metrics"]:
                cells.append(html.Td(f"{values[m]:.3f}" if values else "–", className="text-end"))
        body.append(html.Tr(cells, className="table-light" if best else ""))
    return html.Div(
        [
            dbc.Table(
                [html.Thead([html.Tr(head1), html.Tr(head2)]), html.Tbody(body)],
                bordered=True,
                size="sm",
                hover=True,
                className="small mb-0",
                id="train-metrics-table",
            ),
            html.Div(metrics_meaning(table.get("task")), className="small text-muted"),
        ]
    )


def explain_panel(image_src: str, saliency_src: str, gradcam_src: str, caption: str) -> html.Div:
    def tile(src, title):
        return html.Figure(
            [html.Img(src=src, className="img-fluid"), html.Figcaption(title, className="small text-center")],
            className="me-2",
            style={"width": "32%"},
        )

    return html.Div(
        [
            html.Div(caption, className="small mb-1"),
            html.Div(
                [tile(image_src, "image"), tile(saliency_src, "saliency"), tile(gradcam_src, "Grad-CAM")],
                className="d-flex",
            ),
        ]
    )
