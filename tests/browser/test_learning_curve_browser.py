"""The Train tab's learning curve in headless Chromium: a workspace with two finished tiny pattern rounds shows
one point per round for each model and vote, with no cloud or logo links in the figure's toolbar."""

from __future__ import annotations

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _css_id, _wait
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def _two_pattern_rounds(ws, tmp_path) -> None:
    from scatterloop.core.classify.jobs import run_round
    from scatterloop.core.classify.rounds import RoundParams
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    params = RoundParams(
        task="pattern", sources=("simulated",), models=("physics", "tiny"), epochs=1, input_size=32, batch_size=4
    )
    for n, seed in ((2, 0), (3, 20)):  # 6 labelled frames, then 15
        for i, pattern in enumerate(("rings", "peaks", "background")):
            simulate_dataset(pattern, n, tmp_path / f"sim{seed}", seed=seed + i, size=64)
        import_paths(ws, [tmp_path / f"sim{seed}"], source="simulated")
        if seed:
            ws.store.next_round()
        _, res = run_round(ws, params)
        assert res is not None


def test_train_tab_shows_the_learning_curve(dash_duo, workspace, tmp_path):
    _two_pattern_rounds(workspace, tmp_path)
    dash_duo.start_server(create_app(workspace.settings))
    dash_duo.wait_for_element(".nav-link", timeout=15)
    _open_tab(dash_duo, "Train")
    dash_duo.select_dcc_dropdown(_css_id(ids.TRAIN_TASK_SELECT), index=1)  # the pattern task
    graph = _css_id(ids.TRAIN_LEARNING_GRAPH)
    dash_duo.wait_for_contains_text(graph, "pattern task", timeout=20)
    # physics, tiny and three votes, in the accuracy and the precision panel
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"{graph} .scatterlayer .trace")) == 10)
    assert len(dash_duo.find_elements(f"{graph} .scatterlayer .trace .point")) == 20  # two rounds each
    assert "weighted vote" in dash_duo.find_element(f"{graph} .legend").text
    # the pattern task brings its own recipe: the network that sees Bragg spots, 40 epochs at 96 px
    epochs = dash_duo.find_element(_css_id(ids.TRAIN_EPOCHS_INPUT))
    _wait(dash_duo, lambda: epochs.get_attribute("placeholder") == "40")
    assert "pattern" in dash_duo.find_element(_css_id(ids.TRAIN_RECIPE_SELECT)).text
    ticked = dash_duo.find_elements(f"{_css_id(ids.TRAIN_MODELS_CHECKLIST)} input:checked")
    assert [b.get_attribute("value") for b in ticked] == ["tiny"]
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", dash_duo.find_element(graph))
    dash_duo.driver.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('mousemove', {bubbles: true}))",
        dash_duo.find_element(f"{graph} .nsewdrag"),
    )
    assert not dash_duo.find_elements(f"{graph} .modebar-btn--logo")
    titles = [b.get_attribute("data-title") or "" for b in dash_duo.find_elements(f"{graph} .modebar-btn")]
    assert titles and not [t for t in titles if "Chart Studio" in t or "cloud" in t.lower()]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "train-learning-curve.png"))
    assert dash_duo.get_logs() == []
