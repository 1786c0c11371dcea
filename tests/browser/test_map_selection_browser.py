"""A lasso selection survives recolouring the map: the points shown selected are the images the gallery and the
relabel buttons act on (a browser review found the selection dropped from the map when the colouring changed)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.actions.action_builder import ActionBuilder

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import GRAPH_JS, _open_tab
from tests.browser.test_label_browser import _css_id, _set_annotator, _wait
from tests.browser.test_map_tooltip_browser import MAP_READY
from tests.conftest import SCREENSHOTS
from tests.fake_map import fake_map

pytestmark = pytest.mark.browser

GD = "const gd = (function() {" + GRAPH_JS + "})();"
TO_PAGE = (  # window positions of map coordinates [[x, y], ...] (arguments[0]), after one scroll
    GD + "gd.scrollIntoView({block: 'center'}); const L = gd._fullLayout; const r = gd.getBoundingClientRect();"
    "return arguments[0].map(p => [r.left + L._size.l + L.xaxis.l2p(p[0]), r.top + L._size.t + L.yaxis.l2p(p[1])]);"
)
SHOWN_SELECTED = (  # the image ids the map shows selected: null where no trace holds a selection
    GD + "if (!gd.data.some(t => Array.isArray(t.selectedpoints))) return null; const out = [];"
    "gd.data.forEach(t => (t.selectedpoints || []).forEach(i => out.push(t.customdata[i]))); return out.sort();"
)


def _lasso(dash_duo, corners) -> None:
    """Drag the real mouse around `corners` (map coordinates, the first where the press is), as a person draws a
    lasso."""
    points = dash_duo.driver.execute_script(TO_PAGE, [list(c) for c in corners + corners[:1]])
    mouse = ActionBuilder(dash_duo.driver, duration=50)
    mouse.pointer_action.move_to_location(*(int(round(v)) for v in points[0])).pointer_down()
    for a, b in zip(points, points[1:], strict=False):
        for t in (0.25, 0.5, 0.75, 1.0):  # several steps per side: plotly draws the lasso from mouse moves
            mouse.pointer_action.move_to_location(
                int(round(a[0] + t * (b[0] - a[0]))), int(round(a[1] + t * (b[1] - a[1])))
            )
    mouse.pointer_action.pointer_up()
    mouse.perform()


def test_a_lasso_selection_survives_a_new_colouring(dash_duo, small_workspace):
    ws = small_workspace
    images = sorted(img.id for img, _ in ws.store.list_images())
    # six images in a block at the left, the other six in two rows at the right, well apart from them
    spots = [(x, y) for y in (1, 2, 3) for x in (0, 1)] + [(x, y) for y in (0, 4) for x in (6, 7, 8)]
    grid = {i: [float(x), float(y), 0.0] for i, (x, y) in zip(images, spots, strict=True)}
    fake_map(ws, grid)
    chosen = sorted(images[:6])
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(create_app(ws.settings))
    _open_tab(dash_duo, "Explore")
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(MAP_READY), timeout=30)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), f"{len(images)} images", timeout=15)

    # pressed well inside the plot area (near its edges a press grabs the axes' drag handles), half a unit around
    _lasso(dash_duo, [(3.0, 2.0), (3.0, 0.5), (-0.2, 0.5), (-0.2, 3.5), (3.0, 3.5)])
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), f"{len(chosen)} selected", timeout=10)
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(SHOWN_SELECTED) == chosen, timeout=10)

    # labelling moves the points to other traces of the role colouring: they stay the ones shown selected
    _set_annotator(dash_duo, "ada")
    dash_duo.find_element(_css_id(ids.EXPLORE_INCLUDE_EXPERIMENTAL)).click()  # the six are experimental frames
    dash_duo.find_element('[id*="explore-apply-button"][id*="fake"]').click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), f"Labelled {len(chosen)} image(s) 'fake'", timeout=15)
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(GD + "return gd.data.some(t => t.legendgroup === 'fake')"))
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(SHOWN_SELECTED) == chosen, timeout=10)
    assert f"{len(chosen)} selected" in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY_COUNT)).text

    for colouring in ("pattern", "human label", "symmetry score"):
        dash_duo.select_dcc_dropdown(_css_id(ids.EXPLORE_COLOUR_SELECT), colouring)
        dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), f"coloured by {colouring}", timeout=15)
        # the same images, whatever traces they sit in now
        _wait(dash_duo, lambda: dash_duo.driver.execute_script(SHOWN_SELECTED) == chosen, timeout=10)
        assert f"{len(chosen)} selected" in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY_COUNT)).text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-selection-recoloured.png"))

    # a lasso that catches nothing clears the selection: the person asked for it
    _lasso(dash_duo, [(4.0, 2.0), (5.0, 1.0), (5.0, 3.0)])
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), "Nothing selected", timeout=10)
    assert dash_duo.get_logs() == []
