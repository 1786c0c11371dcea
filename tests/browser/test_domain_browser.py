"""Calls made on frames unlike a model's training frames, in headless Chromium: a pattern network trained on the
default simulator's square frames predicts real detector frames and frames of no scattering pattern; the Label
tab sorts them farthest first and marks them "unlike training"; the Train tab's curves follow the task chosen."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_label_browser import _css_id, _wait
from tests.browser.test_loop_walkthrough_browser import GRID, _shot, _tab

pytestmark = pytest.mark.browser


def _first_suggestions(dash_duo, n: int) -> list[str] | None:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        cards = dash_duo.find_elements(GRID)[:n]
        return [c.find_element("css selector", ".sl-suggestion").text for c in cards]
    except (StaleElementReferenceException, Exception):
        return None


def test_calls_unlike_training_are_sorted_first_and_marked(dash_duo, workspace, realdata, tmp_path):
    from scatterloop.core.classify import RoundParams, train_round
    from scatterloop.core.classify.predict import predict_images, task_domains
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.jobs import run_job
    from scatterloop.core.simulate import simulate_dataset

    ws, store = workspace, workspace.store
    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, 40, tmp_path / "sim", seed=60 + i, size=64)  # a validation set of ~24
    import_paths(ws, [tmp_path / "sim"], source="simulated")
    real = tmp_path / "real"
    real.mkdir()
    for rel in ("peaks/silx-training/medipix.edf", "rings/als/24002.png"):
        shutil.copy(realdata / rel, real / rel.replace("/", "_"))
    yy, xx = np.mgrid[:64, :64]
    for k in range(2):  # no scattering pattern at all
        np.save(real / f"board{k}.npy", (((yy // (k + 2) + xx // (k + 2)) % 2) * 10_000 + 5).astype(np.int32))
    chosen = import_paths(ws, [real], source="experimental").image_ids
    params = RoundParams(task="pattern", sources=("simulated",), models=("tiny",), epochs=4, input_size=32, seed=0)
    train_run, _ = run_job(store, "classify", params.__dict__, lambda run_id, progress, should_stop: train_round(
        ws, params, run_id=run_id))  # fmt: skip
    run_job(store, "predict", {}, lambda run_id, progress, should_stop: predict_images(
        ws, train_run, chosen, run_id=run_id))  # fmt: skip
    far = task_domains(store, "pattern", chosen)
    outside = sorted((i for i in chosen if far[i] > 1), key=lambda i: -far[i])
    assert len(outside) >= 2, far  # the checkerboards at least

    dash_duo.start_server(create_app(ws.settings.with_(page_size=48)))
    dash_duo.wait_for_element(".sl-card", timeout=30)
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_SOURCE_FILTER), "experimental")
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_SORT_SELECT), "sort: unlike training first")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), f"of {len(chosen)}", timeout=20)
    _wait(dash_duo, lambda: (got := _first_suggestions(dash_duo, len(outside))) is not None and all(
        t.endswith("· unlike training") for t in got), 20)  # fmt: skip
    _shot(dash_duo, "domain-label-sorted.png")

    _tab(dash_duo, "Train")
    dash_duo.select_dcc_dropdown(_css_id(ids.TRAIN_TASK_SELECT), "pattern (recorded at import) of the sources below")
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_CURVES_GRAPH), "pattern round 1", timeout=20)
    dash_duo.select_dcc_dropdown(_css_id(ids.TRAIN_TASK_SELECT), "realistic / fake (4:6 hybrid set)")
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_CURVES_GRAPH), "appear here after its first epoch", timeout=20)
    dash_duo.select_dcc_dropdown(_css_id(ids.TRAIN_TASK_SELECT), "pattern (recorded at import) of the sources below")
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_CURVES_GRAPH), "pattern round 1", timeout=20)
    dash_duo.driver.set_window_size(1400, 1300)  # the curves sit at the foot of the left column
    _shot(dash_duo, "domain-train-curves.png")
    assert dash_duo.get_logs() == []
