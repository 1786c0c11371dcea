"""Explain in headless Chromium (issue 14: feedback within 0.3 s): a cold explanation loads the model and takes
seconds, so the click says at once, in the browser, which image is being explained with which model, with a
spinner; the saliency and Grad-CAM maps then replace the line. The server's work is held on an event until the
test has seen the acknowledgement: no race, no sleep, no time asserted."""

from __future__ import annotations

import pytest

from scatterloop.callbacks import train, train_review
from scatterloop.callbacks.services import make_services
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_label_browser import _css_id, _wait
from tests.browser.test_loop_walkthrough_browser import _shot, _tab
from tests.browser.test_train_browser import _click, _set
from tests.browser.test_ux_browser import _gated
from tests.labelled import add_candidates_labelled_by_truth

pytestmark = pytest.mark.browser


def _round_with_a_network(ws, tmp_path) -> list[dict]:
    """Round 1 with timm's tiny network (1 epoch, 32 px): a model that has a pixel map to explain. Returns the
    Explain menu's options."""
    add_candidates_labelled_by_truth(ws, tmp_path / "more", 8, seed=41)
    services = make_services(ws.settings)
    values = dict(task="realism", models=["tiny"], epochs=1, lr=1e-4, batch=4, input_size=32, init="scratch")
    assert train.run_round(services, values, lambda *_: None).startswith("Run ")
    return train.results(services, None)[3]


def test_explain_says_at_once_which_image_and_model_then_shows_the_maps(
    dash_duo, small_workspace, tmp_path, monkeypatch
):
    options = _round_with_a_network(small_workspace, tmp_path)
    assert options, "the round left no model to explain"
    image = next(img.id for img, _ in small_workspace.store.list_images())
    gate = _gated(monkeypatch, train_review, "explain_image")
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _tab(dash_duo, "Train")
    dash_duo.wait_for_element(_css_id(ids.TRAIN_EXPLAIN_BUTTON), timeout=15)
    _set(dash_duo, ids.TRAIN_EXPLAIN_IMAGE_INPUT, str(image))

    select = dash_duo.find_element(_css_id(ids.TRAIN_EXPLAIN_MODEL_SELECT))
    # jump (not Bootstrap's smooth scroll) so the click lands on the menu, and open it once its options are there
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", select)

    def menu_open() -> bool:
        if not dash_duo.find_elements(".dash-dropdown-options .dash-dropdown-option"):
            dash_duo.driver.execute_script("arguments[0].click()", select)
            return False
        return True

    _wait(dash_duo, menu_open, timeout=20)
    dash_duo.find_elements(".dash-dropdown-options .dash-dropdown-option")[0].click()
    chosen = options[0]["label"]
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_EXPLAIN_MODEL_SELECT), chosen, timeout=10)

    _click(dash_duo, ids.TRAIN_EXPLAIN_BUTTON)
    panel, spinner = _css_id(ids.TRAIN_EXPLAIN_PANEL), f"{_css_id(ids.TRAIN_EXPLAIN_PANEL)} .spinner-border"
    dash_duo.wait_for_contains_text(panel, f"Explaining #{image} with {chosen}…", timeout=10)
    assert dash_duo.find_element(spinner).is_displayed()
    assert "Grad-CAM" not in dash_duo.find_element(panel).text  # said while the server still works
    _shot(dash_duo, "train-explain-acknowledged.png")
    gate.set()
    dash_duo.wait_for_contains_text(panel, "Grad-CAM", timeout=60)
    assert "tiny says" in dash_duo.find_element(panel).text
    assert not dash_duo.find_elements(spinner)
    _shot(dash_duo, "train-explain-done.png")
    assert dash_duo.get_logs() == []
