"""A page reloaded while its job runs (a browser walkthrough of 2026-12-07): the bar, the status line and Cancel
came back empty, the job button was on again and a second click started the same job twice. Now the page takes
up the run at its load (an identical click following a running run is `launch`'s, tested in
tests/callbacks/test_ux_review.py). A real run; the test waits on the run record."""

from __future__ import annotations

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _css_id, _wait
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def _maps(store) -> list:
    return sorted((r for r in store.list_runs() if r.kind == "embed"), key=lambda r: r.id)


def _disabled(dash_duo, component_id: str) -> bool:
    return bool(dash_duo.find_element(_css_id(component_id)).get_attribute("disabled"))


def test_a_reloaded_page_takes_up_its_running_job_and_a_second_click_follows_it(dash_duo, small_workspace):
    store = small_workspace.store
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    box = dash_duo.find_element(_css_id(ids.EXPLORE_EPOCHS_INPUT))
    box.clear()
    box.send_keys("1000")  # far more than the test lets it take: it is cancelled while it runs
    dash_duo.find_element(_css_id(ids.EXPLORE_BUILD_BUTTON)).click()
    _wait(dash_duo, lambda: _maps(store) and _maps(store)[-1].status == "running", timeout=240)
    run = _maps(store)[-1]

    dash_duo.driver.refresh()
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    # the bar, its Cancel and the status line are the run's again; the job buttons are off while it runs
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_JOB_STATUS), f"Run {run.id}", timeout=30)
    _wait(dash_duo, lambda: not _disabled(dash_duo, ids.EXPLORE_CANCEL_BUTTON), timeout=30)
    assert _disabled(dash_duo, ids.EXPLORE_BUILD_BUTTON)
    _wait(dash_duo, lambda: "%" in (dash_duo.find_element(_css_id(ids.EXPLORE_PROGRESS)).text or ""), timeout=30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-reload-resumed.png"))

    # reloaded once more: taken up again, and its Cancel acts at once (the page knows its run at load)
    dash_duo.driver.refresh()
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    _wait(dash_duo, lambda: not _disabled(dash_duo, ids.EXPLORE_CANCEL_BUTTON), timeout=30)
    assert _disabled(dash_duo, ids.EXPLORE_BUILD_BUTTON)  # no second map job can start from this page
    dash_duo.find_element(_css_id(ids.EXPLORE_CANCEL_BUTTON)).click()  # at once: the page knows its run
    _wait(dash_duo, lambda: store.get_run(run.id).status == "cancelled", timeout=120)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_JOB_STATUS), f"Map run {run.id} cancelled", timeout=30)
    _wait(dash_duo, lambda: not _disabled(dash_duo, ids.EXPLORE_BUILD_BUTTON), timeout=30)
    assert [r.id for r in _maps(store)] == [run.id]  # one map job all along
    assert dash_duo.get_logs() == []
