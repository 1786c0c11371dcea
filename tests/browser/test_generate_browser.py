"""The Generate tab in headless Chromium: train a few steps, generate candidates, see them and their runs."""

from __future__ import annotations

import pytest

from dashboard import ids
from dashboard.app import create_app
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
