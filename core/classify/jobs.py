"""Classifier rounds and predictions as recorded runs, shared by the CLI and the dashboard."""

from __future__ import annotations

from ..jobs import ProgressFn, no_progress, run_job
from ..workspace import Workspace
from .predict import Scheme, predict_candidates
from .rounds import CurveFn, RoundParams, round_params_json, train_round


def run_round(
    ws: Workspace, params: RoundParams, *, progress: ProgressFn = no_progress, on_epoch: CurveFn | None = None
):
    return run_job(
        ws.store,
        "classify",
        round_params_json(params),
        lambda run_id, progress, should_stop: train_round(
            ws, params, run_id=run_id, progress=progress, should_stop=should_stop, on_epoch=on_epoch
        ),
        progress=progress,
    )


def run_predict(ws: Workspace, classify_run: int, *, scheme: Scheme = "weighted", progress: ProgressFn = no_progress):
    return run_job(
        ws.store,
        "predict",
        {"classify_run": classify_run, "scheme": scheme},
        lambda run_id, progress, should_stop: predict_candidates(
            ws, classify_run, run_id=run_id, scheme=scheme, progress=progress, should_stop=should_stop
        ),
        progress=progress,
    )
