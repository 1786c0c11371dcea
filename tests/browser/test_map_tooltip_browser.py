"""The map's hover thumbnail appears beside the point the mouse is on (a browser review found it ~125 px above it,
over the search bar and the map's controls: a dcc.Tooltip outside the graph's dcc.Loading, plotly/dash#3015)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.actions.action_builder import ActionBuilder

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import GRAPH_JS, _open_tab
from tests.browser.test_label_browser import _css_id, _wait
from tests.conftest import SCREENSHOTS
from tests.fake_map import fake_map

pytestmark = pytest.mark.browser

MAP_READY = "const gd = (function() {" + GRAPH_JS + "})(); return !!(gd && gd.data && gd.data.length);"
# the page position of the first point: Plotly's axis maps data to pixels inside the plot area
POINT_XY = (  # the first point's position in the window
    "const gd = (function() {" + GRAPH_JS + "})(); gd.scrollIntoView({block: 'center'}); const L = gd._fullLayout;"
    "const t = gd.data.find(d => (d.x || []).length); const r = gd.getBoundingClientRect();"
    "const x = L._size.l + L.xaxis.l2p(t.x[0]), y = L._size.t + L.yaxis.l2p(t.y[0]);"
    "return [r.left + x, r.top + y];"
)
TOOLTIP_BOX = (  # the thumbnail's box once the tooltip holds it and shows it
    f"const el = document.getElementById('{ids.EXPLORE_TOOLTIP}'); const img = el && el.querySelector('img');"
    "if (!img || !img.complete || !img.offsetWidth) return null; const box = img.closest('.dcc-tooltip-bounding-box');"
    "if (box && getComputedStyle(box).visibility === 'hidden') return null;"
    "const r = img.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"
)


def test_the_hover_thumbnail_appears_beside_the_point(dash_duo, small_workspace):
    ws = small_workspace
    images = [img.id for img, _ in ws.store.list_images()]
    fake_map(ws, {i: [float(k % 4), float(k // 4), 0.0] for k, i in enumerate(images)})
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(create_app(ws.settings))
    _open_tab(dash_duo, "Explore")
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(MAP_READY), timeout=30)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), f"{len(images)} images", timeout=15)
    seen = {}

    def hovered() -> bool:
        """Move the mouse onto the first point (again: a redraw of the map drops a hover) and read the thumbnail."""
        seen["point"] = dash_duo.driver.execute_script(POINT_XY)
        mouse = ActionBuilder(dash_duo.driver)
        mouse.pointer_action.move_to_location(*(int(round(v)) for v in seen["point"]))  # as a person's mouse
        mouse.perform()
        seen["box"] = dash_duo.driver.execute_script(TOOLTIP_BOX)
        return seen["box"] is not None

    _wait(dash_duo, hovered, timeout=20)
    (px, py), (left, top, right, bottom) = seen["point"], seen["box"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-tooltip.png"))
    # the tooltip opens to the right of the point, centred on it: the point's row crosses it, and it starts at it
    assert top - 10 <= py <= bottom + 10, (py, top, bottom)
    assert px - 20 <= left <= px + 60, (px, left, right)
