"""Issue 11: the Explore detail of a calibrated image shows I(q) in inverse Angstrom and the (q, chi) cake; an
image the calibration does not fit keeps I(r) in pixels and says so (real Pilatus 1M frame, its pyFAI .poni)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from scatterloop.core.ingest import import_paths
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import GRAPH_JS, _emit, _open_tab
from tests.browser.test_label_browser import _css_id, _wait
from tests.calibrated import ring_frame
from tests.conftest import SCREENSHOTS
from tests.fake_map import fake_map

pytestmark = pytest.mark.browser

PROFILE_JS = f"return document.getElementById('{ids.EXPLORE_PROFILE_GRAPH}').querySelector('.js-plotly-plot')"
MAP_READY = "const gd = (function() {" + GRAPH_JS + "})(); return !!(gd && gd.data && gd.data.length);"
CAKE_JS = f"return document.getElementById('{ids.EXPLORE_CAKE_GRAPH}').querySelector('.js-plotly-plot')"


def _point(image_id: int) -> str:
    """A Plotly click on the map point of `image_id` (ids travel in customdata)."""
    return f"""(gd) => {{ for (let c = 0; c < gd.data.length; c++) {{ const cd = gd.data[c].customdata || [];
        const i = cd.indexOf({image_id}); if (i >= 0) {{
        return [{{curveNumber: c, pointNumber: i, pointIndex: i, x: gd.data[c].x[i], y: gd.data[c].y[i]}}]; }} }} }}"""


def _shot(dash_duo, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / name))


def test_detail_shows_i_of_q_and_cake_with_a_calibration_and_pixels_without(dash_duo, workspace, realdata, tmp_path):
    ws = workspace
    pilatus = import_paths(ws, [realdata / "rings" / "silx-training" / "Pilatus1M.edf"], source="experimental")
    np.save(tmp_path / "small.npy", ring_frame())
    small = import_paths(ws, [tmp_path / "small.npy"], source="generated")
    exp_id, gen_id = pilatus.image_ids[0], small.image_ids[0]
    (ws.root / "calibration").mkdir()
    shutil.copy(
        realdata / "calibration" / "pyFAI" / "Pilatus1M_pyFAI_test.poni", ws.root / "calibration" / "default.poni"
    )
    fake_map(ws, {exp_id: [0.0, 0.0, 0.0], gen_id: [5.0, 5.0, 0.0]})
    dash_duo.driver.set_window_size(1400, 1800)
    dash_duo.start_server(create_app(ws.settings))
    _open_tab(dash_duo, "Explore")
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(MAP_READY), timeout=30)

    # the calibrated frame: I(q) in inverse Angstrom, the cake as a heatmap over (q, chi), the note names the file
    _emit(dash_duo, "plotly_click", _point(exp_id))
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_PROFILE_NOTE), "default.poni", timeout=60)
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(CAKE_JS) is not None, timeout=30)
    assert dash_duo.driver.execute_script(PROFILE_JS + ".layout.xaxis.title.text") == "q (Å⁻¹)"
    cake = dash_duo.driver.execute_script(
        "const gd = (function() {" + CAKE_JS + "})();"
        "return [gd.data[0].type, gd.layout.xaxis.title.text, gd.layout.yaxis.title.text, gd.data[0].z.length];"
    )
    assert cake == ["heatmap", "q (Å⁻¹)", "χ (°)", 180]
    dash_duo.driver.execute_script(
        f"document.getElementById('{ids.EXPLORE_PROFILE_NOTE}').scrollIntoView({{block: 'start'}});"
    )
    _shot(dash_duo, "explore-detail-q-cake.png")

    # a 300x320 frame the Pilatus calibration does not fit: I(r) in pixels, no cake, and the note says why
    _emit(dash_duo, "plotly_click", _point(gen_id))
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_PROFILE_NOTE), "radius in pixels", timeout=60)
    assert "1043×981 detector" in dash_duo.find_element(_css_id(ids.EXPLORE_PROFILE_NOTE)).text
    assert dash_duo.driver.execute_script(PROFILE_JS + ".layout.xaxis.title.text") == "r (px)"
    assert not dash_duo.find_elements(_css_id(ids.EXPLORE_CAKE_GRAPH))
    dash_duo.driver.execute_script(
        f"document.getElementById('{ids.EXPLORE_PROFILE_NOTE}').scrollIntoView({{block: 'start'}});"
    )
    _shot(dash_duo, "explore-detail-pixels.png")
    assert dash_duo.get_logs() == []
