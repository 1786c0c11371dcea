"""Issue 14 finding 5 and the stale status lines, in headless Chromium: generator training is cancelled by its own
Cancel (the sampling Cancel stays out of it), any run is cancelled from the Jobs tab, and the status line beside
a job's bar always speaks of the current run ("cancelled" or "No trained model yet" never stand beside a new one).
The runs are real (a worker process trains the domain model); the test waits on the run records in the store."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

from scatterloop.callbacks.generate import NO_MODEL
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _css_id, _wait

pytestmark = pytest.mark.browser

LONG = "100000"  # far more steps than the test lets it take: it is cancelled while it runs


def _text(dash_duo, component_id: str) -> str:
    return dash_duo.find_element(_css_id(component_id)).text


def _training_runs(store) -> list:
    return sorted((r for r in store.list_runs() if r.kind == "generate-train"), key=lambda r: r.id)


def _start_training(dash_duo, store, known: int):
    """Click Train; return the new training run once its worker has taken it (status running)."""
    dash_duo.find_element(_css_id(ids.GEN_TRAIN_BUTTON)).click()
    _wait(dash_duo, lambda: len(_training_runs(store)) > known, timeout=30)
    run = _training_runs(store)[-1]
    _wait(dash_duo, lambda: store.get_run(run.id).status == "running", timeout=240)
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_TRAIN_STATUS), f"Run {run.id} (generator training)", timeout=30)
    return run


def _set_steps(dash_duo, steps: str) -> None:
    box = dash_duo.find_element(_css_id(ids.GEN_TRAIN_STEPS_INPUT))
    box.clear()
    box.send_keys(steps)


def test_training_has_its_own_cancel_and_no_stale_line(dash_duo, small_workspace):
    store = small_workspace.store
    decoy = store.create_run("generate", {})  # another unfinished run: no Cancel here may touch it
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Generate")

    # sampling without a model says so ...
    dash_duo.find_element(_css_id(ids.GEN_RUN_BUTTON)).click()
    dash_duo.wait_for_text_to_equal(_css_id(ids.GEN_STATUS), NO_MODEL, timeout=60)
    # ... and that line goes as soon as training starts: a model is on its way
    _set_steps(dash_duo, LONG)
    run = _start_training(dash_duo, store, 0)
    assert _text(dash_duo, ids.GEN_STATUS) == ""

    # while training runs, the sampling card's Cancel is off; the training card's own Cancel is on
    assert dash_duo.find_element(_css_id(ids.GEN_CANCEL_BUTTON)).get_attribute("disabled")
    cancel = dash_duo.find_element(_css_id(ids.GEN_TRAIN_CANCEL_BUTTON))
    assert not cancel.get_attribute("disabled")
    cancel.click()
    _wait(dash_duo, lambda: store.get_run(run.id).status == "cancelled", timeout=120)
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_TRAIN_STATUS), f"Training run {run.id} cancelled", timeout=30)
    assert store.get_run(decoy).status == "queued" and not store.get_run(decoy).cancel_requested
    _wait(dash_duo, lambda: dash_duo.find_element(_css_id(ids.GEN_TRAIN_CANCEL_BUTTON)).get_attribute("disabled"))
    assert dash_duo.get_logs() == []


def _click_jobs_cancel(dash_duo, run_id: int) -> bool:
    """Click the Jobs-tab Cancel of `run_id`, finding it afresh (the table is redrawn every 2 s)."""
    try:
        dash_duo.find_element(f"[id*='jobs-cancel-button'][id*='\"run\":{run_id}']").click()
        return True
    except (StaleElementReferenceException, NoSuchElementException):
        return False


def test_the_jobs_tab_cancels_a_run_and_its_page_says_so(dash_duo, small_workspace):
    store = small_workspace.store
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Generate")
    _set_steps(dash_duo, LONG)
    first = _start_training(dash_duo, store, 0)

    _open_tab(dash_duo, "Jobs")
    _wait(dash_duo, lambda: _click_jobs_cancel(dash_duo, first.id), timeout=30)
    dash_duo.wait_for_contains_text(_css_id(ids.JOBS_STATUS), f"Cancel requested for run {first.id} (", timeout=15)
    _wait(dash_duo, lambda: store.get_run(first.id).status == "cancelled", timeout=120)

    # the page that started it tells the outcome; a new run replaces that line at once, then names itself
    _open_tab(dash_duo, "Generate")
    dash_duo.wait_for_contains_text(_css_id(ids.GEN_TRAIN_STATUS), f"Training run {first.id} cancelled", timeout=30)
    second = _start_training(dash_duo, store, 1)
    assert "cancelled" not in _text(dash_duo, ids.GEN_TRAIN_STATUS)
    dash_duo.find_element(_css_id(ids.GEN_TRAIN_CANCEL_BUTTON)).click()
    _wait(dash_duo, lambda: store.get_run(second.id).status == "cancelled", timeout=120)
    assert store.get_run(first.id).status == "cancelled"
    assert dash_duo.get_logs() == []
