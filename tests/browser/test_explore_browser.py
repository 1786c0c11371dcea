"""The Explore tab in headless Chromium: build the map as a background job, lasso, relabel, click, 3-D."""

from __future__ import annotations

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_label_browser import _css_id, _set_annotator, _wait
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

GRAPH_JS = f"return document.getElementById('{ids.EXPLORE_GRAPH}').querySelector('.js-plotly-plot')"


def _open_tab(dash_duo, name: str) -> None:
    for link in dash_duo.find_elements(".nav-link"):
        if link.text == name:
            link.click()


def _emit(dash_duo, event: str, points_js: str) -> None:
    """Fire a Plotly event on the map exactly as Plotly does after a lasso or a click."""
    dash_duo.driver.execute_script(
        f"""const gd = (function() {{ {GRAPH_JS}; }})();
        const points = ({points_js})(gd);
        gd.emit('{event}', {{points: points, lassoPoints: {{x: [0, 1, 1], y: [0, 0, 1]}}}});"""
    )


ALL_POINTS = """(gd) => { const pts = []; gd.data.forEach((t, c) => (t.x || []).forEach((x, i) =>
    pts.push({curveNumber: c, pointNumber: i, pointIndex: i, x: x, y: t.y[i]}))); return pts; }"""
FIRST_POINT = """(gd) => { for (let c = 0; c < gd.data.length; c++) { if ((gd.data[c].x || []).length) {
    return [{curveNumber: c, pointNumber: 0, pointIndex: 0, x: gd.data[c].x[0], y: gd.data[c].y[0]}]; } } }"""


def test_build_map_lasso_relabel_click_and_3d(dash_duo, small_workspace):
    store = small_workspace.store
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "No map yet", timeout=15)

    # the map is a background job with a progress bar; it is recorded as a run
    dash_duo.find_element(_css_id(ids.EXPLORE_EPOCHS_INPUT)).clear()
    dash_duo.find_element(_css_id(ids.EXPLORE_EPOCHS_INPUT)).send_keys("3")
    dash_duo.find_element(_css_id(ids.EXPLORE_BUILD_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_JOB_STATUS), "Map of 12 images", timeout=120)
    assert store.latest_map_run() is not None and len(store.map_points(store.latest_map_run().id)) == 12
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=15)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-2d.png"))

    # lasso everything: the gallery shows the selection, bulk relabel writes one event per image
    _emit(dash_duo, "plotly_selected", ALL_POINTS)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), "12 selected", timeout=10)
    candidates = [img.id for img, _ in store.list_images() if img.source == "generated"]
    dash_duo.find_element('[id*="explore-apply-button"][id*="fake"]').click()
    # candidates only: the experimental frames in the lasso are left alone unless explicitly ticked
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "Labelled 6 image(s) 'fake'", timeout=10)
    labels = store.current_labels()
    assert all(labels[i].label == "fake" and labels[i].annotator == "ada" for i in candidates)
    # the figure was patched: the generated points now sit in the "fake" trace
    _wait(
        dash_duo,
        lambda: (
            dash_duo.driver.execute_script(GRAPH_JS + ".data.find(t => t.legendgroup === 'fake').customdata.length")
            == len(candidates)
        ),
    )
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-selection.png"))

    # click a point: image, reconstruction, polar warp and I(r)
    _emit(dash_duo, "plotly_click", FIRST_POINT)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_POLAR_TEXT), "symmetry", timeout=30)
    assert dash_duo.find_element(f"{_css_id(ids.EXPLORE_DETAIL)} img.sl-polar").get_attribute("src").endswith(".png")
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-detail.png"))

    # 3-D
    dash_duo.find_element(f"label[for='_dbcprivate_radioitems_{ids.EXPLORE_DIMS_RADIO}_input_3']").click()
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(GRAPH_JS + ".data[0].type") == "scatter3d")
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-3d.png"))
    assert dash_duo.get_logs() == []
