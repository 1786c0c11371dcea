"""The Generate tab in headless Chromium: train a few steps, generate candidates, see them and their runs."""

from __future__ import annotations

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _css_id
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_train_then_generate_from_the_ui(dash_duo, small_workspace):
    store = small_workspace.store
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Generate")
    dash_duo.find_element(_css_id(ids.GEN_TRAIN_STEPS_INPUT)).send_keys("3")
    dash_duo.find_element(_css_id(ids.GEN_TRAIN_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_TRAIN_STATUS), "3 steps on 6 frames", timeout=180)
    assert store.list_artifacts(kind="generator")
    count = dash_duo.find_element(_css_id(ids.GEN_COUNT_INPUT))
    count.clear()
    count.send_keys("2")
    steps = dash_duo.find_element(_css_id(ids.GEN_STEPS_INPUT))
    steps.clear()
    steps.send_keys("2")
    dash_duo.find_element(_css_id(ids.GEN_RUN_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_STATUS), "2 candidates registered", timeout=180)
    run = [r for r in store.list_runs() if r.kind == "generate"][0]
    made = store.images_of_run(run.id)
    assert len(made) == 2 and all(img.source == "generated" and img.provenance["backend"] == "domain" for img in made)
    dash_duo.wait_for_element(f"{_css_id(ids.GEN_GALLERY)} .sl-card", timeout=15)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "generate-tab.png"))
    assert dash_duo.get_logs() == []


def test_cancel_mid_run_keeps_only_whole_batches(dash_duo, small_workspace):
    """Cancel while a long generation runs: it stops within a step, and the only images stored are those of
    batches that were complete (16 at a time), each registered with its provenance."""
    from scatterloop.core.generate import train_domain_model
    from scatterloop.core.jobs import run_job

    store = small_workspace.store
    run_job(
        store,
        "generate-train",
        {},
        lambda run_id, progress, should_stop: train_domain_model(small_workspace, "test", run_id=run_id, max_steps=2),
    )
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Generate")
    count = dash_duo.find_element(_css_id(ids.GEN_COUNT_INPUT))
    count.clear()
    count.send_keys("3000")
    dash_duo.find_element(_css_id(ids.GEN_RUN_BUTTON)).click()
    # wait in the browser for the first batch's thumbnails: polling the store from this thread while the server
    # forks the job could fork it holding SQLite's memory mutex (the child would deadlock)
    dash_duo.wait_for_element(f"{_css_id(ids.GEN_GALLERY)} .sl-card", timeout=240)
    runs = [r for r in store.list_runs() if r.kind == "generate"]
    assert runs and runs[0].status == "running", [(r.id, r.status, r.error) for r in runs]
    dash_duo.find_element(_css_id(ids.GEN_CANCEL_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_STATUS), "cancelled after", timeout=120)
    run = [r for r in store.list_runs() if r.kind == "generate"][0]
    made = store.images_of_run(run.id)
    assert store.get_run(run.id).status == "cancelled"
    assert 16 <= len(made) < 3000 and len(made) % 16 == 0
    assert all(img.provenance.get("checkpoint") and img.provenance.get("steps") == 25 for img in made)
    assert dash_duo.get_logs() == []
