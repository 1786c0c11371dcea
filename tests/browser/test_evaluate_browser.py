"""The Evaluate tab in headless Chromium, and the standalone report opened with the network switched off."""

from __future__ import annotations

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _css_id
from tests.browser.test_train_browser import _click
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_evaluate_tab_and_offline_report(dash_duo, small_workspace):
    ws, store = small_workspace, small_workspace.store
    for img, _ in store.list_images():
        if img.source == "generated":
            store.add_labels([img.id], "realistic" if img.truth.get("realistic") else "fake", "ann")
    dash_duo.start_server(create_app(ws.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Evaluate")
    dash_duo.wait_for_contains_text(_css_id(ids.EVAL_TABLE), "No evaluation yet", timeout=15)
    _click(dash_duo, ids.EVAL_RUN_BUTTON)
    dash_duo.wait_for_contains_text(_css_id(ids.EVAL_STATUS), "Evaluation run", timeout=240)
    dash_duo.wait_for_element("#eval-metrics-table", timeout=20)
    table = dash_duo.find_element("#eval-metrics-table").text
    assert "rings" in table and "realistic" in table and "FID" in table
    dash_duo.wait_for_element(f"{_css_id(ids.EVAL_POLAR_PANEL)} .sl-polar-warp", timeout=20)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "evaluate-tab.png"))
    # no calibration in this workspace: the grid's profiles stay I(r) in pixels and the panel says so
    dash_duo.wait_for_contains_text(_css_id(ids.EVAL_PROFILE_NOTE), "no calibration: radius in pixels", timeout=20)
    assert dash_duo.find_elements(f"{_css_id(ids.EVAL_POLAR_PANEL)} .sl-eval-profile")
    size = dash_duo.driver.get_window_size()
    dash_duo.driver.set_window_size(size["width"], 2400)  # the whole grid in one picture
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "evaluate-grid-profiles.png"))
    dash_duo.driver.set_window_size(size["width"], size["height"])
    _click(dash_duo, ids.EVAL_REPORT_BUTTON)
    dash_duo.wait_for_contains_text(_css_id(ids.EVAL_REPORT_STATUS), "opens offline", timeout=120)
    assert dash_duo.get_logs() == []
    report = sorted((ws.root / "exports").glob("report-*.html"))[-1]

    driver = dash_duo.driver
    driver.set_network_conditions(offline=True, latency=0, throughput=0)
    driver.get(report.resolve().as_uri())
    dash_duo.wait_for_element(".js-plotly-plot .main-svg", timeout=30)
    assert len(driver.find_elements("css selector", ".js-plotly-plot")) >= 2  # map and symmetry at least
    assert "Table 2" in driver.find_element("css selector", "body").text
    assert [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    driver.save_screenshot(str(SCREENSHOTS / "report.png"))
