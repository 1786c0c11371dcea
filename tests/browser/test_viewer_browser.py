"""Issue 14 findings 8-11 in headless Chromium: search and legend counts, the full-resolution viewer, compare,
and export / send-to-Label of a selection."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import zipfile

import pytest
import requests
from selenium.webdriver.common.keys import Keys

from scatterloop.core.ingest import import_paths
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import ALL_POINTS, GRAPH_JS, _emit, _open_tab
from tests.browser.test_label_browser import _css_id, _wait
from tests.conftest import SCREENSHOTS
from tests.fake_map import fake_map

pytestmark = pytest.mark.browser

VIEWER_JS = f"return document.getElementById('{ids.VIEWER_GRAPH}').querySelector('.js-plotly-plot')"
COMPARE_JS = f"return document.getElementById('{ids.COMPARE_GRAPH}').querySelector('.js-plotly-plot')"


def _by_source(ws, source):
    return [img.id for img, _ in ws.store.list_images() if img.source == source]


def _with_map(ws) -> tuple[list[int], list[int]]:
    exp, cand = _by_source(ws, "experimental"), _by_source(ws, "generated")
    latents = {i: [10.0 * k, 0.0, 1.0] for k, i in enumerate(exp)}
    latents |= {i: [10.0 * k + 3.0, 8.0, 0.0] for k, i in enumerate(cand)}
    fake_map(ws, latents)
    return exp, cand


def _search(dash_duo, text: str) -> None:
    box = dash_duo.find_element(_css_id(ids.SEARCH_INPUT))
    box.clear()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)  # debounce: the value is sent on Enter


def _shot(dash_duo, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / name))


def _close_viewer(dash_duo) -> None:
    dash_duo.find_element(f"#{ids.VIEWER_MODAL} .btn-close").click()
    _wait(dash_duo, lambda: not dash_duo.find_elements(f"#{ids.VIEWER_GRAPH}"))


def test_search_goes_to_an_image_and_legends_count_every_colouring(dash_duo, small_workspace):
    """Finding 8: search by id, by text (prompt, description, pattern); hits open the viewer or go to Label as a
    queue; every colouring of the map says how many images each legend entry holds."""
    ws = small_workspace
    exp, cand = _with_map(ws)
    dash_duo.start_server(create_app(ws.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)

    # go to an image by id: the viewer opens on it
    _search(dash_duo, f"#{cand[1]}")
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_TITLE), f"Image {cand[1]} · generated", timeout=15)
    _close_viewer(dash_duo)

    # text: every ring image (pattern and description), each hit a card that opens the viewer
    _search(dash_duo, "rings")
    dash_duo.wait_for_contains_text(_css_id(ids.SEARCH_COUNT), "4 image(s) match “rings”", timeout=30)
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"#{ids.SEARCH_RESULTS} .sl-search-card")) == 4)
    cards = dash_duo.find_elements(f"#{ids.SEARCH_RESULTS} .sl-search-card")
    assert len(cards) == 4
    _shot(dash_duo, "search-results.png")
    cards[0].click()
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_TITLE), "rings", timeout=15)
    _close_viewer(dash_duo)
    _search(dash_duo, "nothing-is-called-this")
    dash_duo.wait_for_contains_text(_css_id(ids.SEARCH_COUNT), "Nothing matches", timeout=30)

    # every hit to the Label tab as a queue
    _search(dash_duo, "rings")
    dash_duo.wait_for_contains_text(_css_id(ids.SEARCH_COUNT), "4 image(s)", timeout=30)
    dash_duo.find_element(_css_id(ids.SEARCH_QUEUE_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_QUEUE_BANNER), "search “rings”", timeout=30)
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"#{ids.LABEL_GRID} .sl-card")) == 4)

    # legend counts for every colouring
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=15)
    expected = {
        "group": {"experimental": 6, "unlabeled": 6},
        "label": {"unlabeled": 12},
        "pattern": {"rings": 4, "peaks": 4, "background": 4},
        "round": {"no round": 6, "round 1": 6},  # legend names, not the bare categories
    }
    for colour_by, counts in expected.items():
        _choose(dash_duo, _css_id(ids.EXPLORE_COLOUR_SELECT), _option_index(colour_by))
        names = {f"{k} ({v})" for k, v in counts.items()}

        def legend_holds(names=names):
            traces = dash_duo.driver.execute_script(GRAPH_JS + ".data.map(t => t.name)")
            return names <= set(traces)

        _wait(dash_duo, legend_holds, timeout=15)
        legend_text = dash_duo.find_element(f"#{ids.EXPLORE_GRAPH} .legend").text
        assert all(n in legend_text for n in names), (colour_by, legend_text)
    _shot(dash_duo, "explore-legend-counts.png")
    assert dash_duo.get_logs() == []


def _choose(dash_duo, selector: str, index: int) -> None:
    """Pick a dcc.Dropdown option, waiting for its menu to open (it opens after the click, not with it)."""
    from selenium.common.exceptions import TimeoutException

    menu = ".dash-dropdown-options .dash-dropdown-option"
    for _attempt in range(5):  # a click while the tab is still settling can be lost: click again
        dash_duo.find_element(selector).click()
        try:
            _wait(dash_duo, lambda: dash_duo.find_elements(menu), timeout=3)
            break
        except TimeoutException:
            continue
    dash_duo.find_elements(menu)[index].click()


def _option_index(value: str) -> int:
    from scatterloop.dashboard.components.explore_view import COLOUR_OPTIONS

    return [o["value"] for o in COLOUR_OPTIONS].index(value)


def test_full_resolution_viewer_zoom_window_mask_and_q(dash_duo, workspace, realdata):
    """Finding 9: a real Pilatus 1M frame with its pyFAI calibration: downsampled whole frame, zoom re-requests
    full resolution, colour bar, log/linear, percentile clip, mask on/off, pixel value with q and chi."""
    ws = workspace
    res = import_paths(ws, [realdata / "rings" / "silx-training" / "Pilatus1M.edf"], source="experimental")
    image_id = res.image_ids[0]
    (ws.root / "calibration").mkdir()
    shutil.copy(
        realdata / "calibration" / "pyFAI" / "Pilatus1M_pyFAI_test.poni", ws.root / "calibration" / "default.poni"
    )
    dash_duo.start_server(create_app(ws.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    dash_duo.find_element(".sl-card").click()  # the Label detail's viewer hook
    dash_duo.find_element(f"#{ids.LABEL_DETAIL} [id*='viewer-open']").click()
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_TITLE), "1043×981", timeout=15)
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "whole frame · 1 screen px = 2×2 px", timeout=20)
    image = dash_duo.driver.execute_script(VIEWER_JS + ".data[0]")
    assert image["type"] == "image" and image["dx"] == 2 and image["source"].startswith("data:image/png;base64,")
    colourbar = dash_duo.driver.execute_script(VIEWER_JS + ".data[1].marker.colorbar")
    assert colourbar["ticktext"] and "log" in colourbar["title"]["text"]
    _shot(dash_duo, "viewer-whole.png")

    # zoom: the visible region comes back at full resolution, in frame coordinates
    dash_duo.driver.execute_script(
        "const gd = (function() {" + VIEWER_JS + "})();"
        "Plotly.relayout(gd, {'xaxis.range': [499.5, 699.5], 'yaxis.range': [499.5, 349.5]});"
    )
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "columns 500–699, rows 350–499", timeout=15)
    assert "full resolution" in dash_duo.find_element(_css_id(ids.VIEWER_CAPTION)).text
    assert dash_duo.driver.execute_script(VIEWER_JS + ".data[0].dx") == 1

    # hover: the stored value, q and chi from the calibration
    dash_duo.driver.execute_script(
        "const gd = (function() {" + VIEWER_JS + "})();"
        "gd.emit('plotly_hover', {points: [{curveNumber: 0, pointNumber: [400, 600], x: 600, y: 400}]});"
    )
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_READOUT), "row 400, col 600", timeout=15)
    readout = dash_duo.find_element(_css_id(ids.VIEWER_READOUT)).text
    frame = ws.load_frame(ws.store.get_image(image_id))
    assert f"value {float(frame.data[400, 600]):.6g}" in readout and "q = " in readout and "χ = " in readout
    _shot(dash_duo, "viewer-zoom-hover.png")

    # linear scale and a tighter clip: the caption gives the new window, the zoom is kept
    dash_duo.find_element(f"label[for='_dbcprivate_radioitems_{ids.VIEWER_SCALE_RADIO}_input_linear']").click()
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "(linear)", timeout=15)
    assert "columns 500–699" in dash_duo.find_element(_css_id(ids.VIEWER_CAPTION)).text
    # the mask off: gaps drawn with their stored values, so the picture changes
    before = dash_duo.driver.execute_script(VIEWER_JS + ".data[0].source")
    dash_duo.find_element(f"label[for='{ids.VIEWER_MASK_SWITCH}']").click()
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(VIEWER_JS + ".data[0].source") != before, timeout=15)
    # double click (autorange): back to the whole frame
    dash_duo.driver.execute_script(
        "const gd = (function() {" + VIEWER_JS + "})();"
        "Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true});"
    )
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "whole frame", timeout=15)
    _shot(dash_duo, "viewer-linear-nomask.png")
    # no graph here may offer to upload itself
    config = dash_duo.driver.execute_script(VIEWER_JS + "._context.showSendToCloud")
    assert config is False
    assert dash_duo.get_logs() == []


def test_a_zoom_says_at_once_that_the_full_resolution_region_is_coming(dash_duo, small_workspace, monkeypatch):
    """Feedback within 0.3 s (issue 14): the zoom shows the coarse pixels at once and the caption says the region is
    being drawn at full resolution; the server's caption (the region's columns and rows) then replaces it."""
    from scatterloop.callbacks import viewer as viewer_callbacks

    real, gate = viewer_callbacks.render_viewer, threading.Event()

    def held(services, image_id, window, colourmap, region_data):  # only the zoom waits for the test
        if region_data:
            gate.wait(30)
        return real(services, image_id, window, colourmap, region_data)

    monkeypatch.setattr(viewer_callbacks, "render_viewer", held)
    image_id = _by_source(small_workspace, "experimental")[0]
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _search(dash_duo, f"#{image_id}")
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "whole frame", timeout=15)
    dash_duo.driver.execute_script(
        "const gd = (function() {" + VIEWER_JS + "})();"
        "Plotly.relayout(gd, {'xaxis.range': [7.5, 31.5], 'yaxis.range': [31.5, 7.5]});"
    )
    dash_duo.wait_for_contains_text(
        _css_id(ids.VIEWER_CAPTION), "Zoomed: drawing this region at full resolution…", timeout=10
    )
    assert dash_duo.find_element(f"{_css_id(ids.VIEWER_CAPTION)} .spinner-border").is_displayed()
    top = dash_duo.driver.execute_script(
        f"return document.getElementById('{ids.VIEWER_CAPTION}').getBoundingClientRect().top"
    )
    assert 0 < top < dash_duo.driver.execute_script("return window.innerHeight"), top  # where the user looks
    _shot(dash_duo, "viewer-zoom-acknowledged.png")
    gate.set()
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_CAPTION), "columns 8–31, rows 8–31", timeout=15)
    assert not dash_duo.find_elements(f"{_css_id(ids.VIEWER_CAPTION)} .spinner-border")
    assert dash_duo.get_logs() == []


def test_compare_with_nearest_experimental_and_another_image(dash_duo, small_workspace, monkeypatch):
    """Finding 10: a candidate beside its nearest experimental frames in the map's feature space, and two images;
    each button says at once what it is drawing (held here until the test has seen it)."""
    from scatterloop.callbacks import viewer as viewer_callbacks

    real, gate = viewer_callbacks.compare, threading.Event()

    def held(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(viewer_callbacks, "compare", held)
    ws = small_workspace
    exp, cand = _with_map(ws)
    dash_duo.start_server(create_app(ws.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _search(dash_duo, f"#{cand[2]}")
    dash_duo.wait_for_contains_text(_css_id(ids.VIEWER_TITLE), f"Image {cand[2]}", timeout=15)
    for link in dash_duo.find_elements(f"#{ids.VIEWER_MODAL} .nav-link"):
        if link.text == "Compare":
            link.click()
    dash_duo.find_element(_css_id(ids.COMPARE_NEAREST_BUTTON)).click()
    dash_duo.wait_for_contains_text(
        _css_id(ids.COMPARE_INFO), f"Finding the 3 experimental frames nearest to #{cand[2]}", timeout=10
    )
    assert dash_duo.find_element(f"{_css_id(ids.COMPARE_INFO)} .spinner-border").is_displayed()
    gate.set()
    dash_duo.wait_for_contains_text(
        _css_id(ids.COMPARE_INFO), "Nearest experimental frames in the physics", timeout=20
    )
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(COMPARE_JS + ".data.length") == 4, timeout=15)
    titles = dash_duo.driver.execute_script(COMPARE_JS + ".layout.annotations.map(a => a.text)")
    # candidate k sits 3 units from experimental k, 7 from k+1 (plus the 8-unit offset): nearest is exp[2]
    assert titles[0].startswith(f"#{cand[2]} generated") and titles[1].startswith(f"#{exp[2]} experimental")
    assert all("distance" in t for t in titles[1:])
    _shot(dash_duo, "compare-nearest.png")

    # two images by id
    box = dash_duo.find_element(_css_id(ids.COMPARE_WITH_INPUT))
    box.send_keys(str(exp[0]))
    dash_duo.find_element(_css_id(ids.COMPARE_WITH_BUTTON)).click()
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(COMPARE_JS + ".data.length") == 2, timeout=15)
    # an id the workspace does not hold: said in the compare panel
    box.clear()
    box.send_keys("99999")
    dash_duo.find_element(_css_id(ids.COMPARE_WITH_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.COMPARE_INFO), "image 99999: no such image", timeout=10)
    assert dash_duo.get_logs() == []


def test_export_map_and_grid_selection_and_send_to_label(dash_duo, small_workspace):
    """Finding 11: a lasso selection exported as CSV and as a zipped imagefolder under exports/, downloaded as an
    attachment, and sent to Label as a queue; a grid selection exported too."""
    ws = small_workspace
    exp, cand = _with_map(ws)
    dash_duo.start_server(create_app(ws.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=15)
    _emit(dash_duo, "plotly_selected", ALL_POINTS)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), "12 selected", timeout=10)

    status = "[id*='selection-status'][id*='explore']"
    dash_duo.find_element("[id*='selection-export'][id*='explore'][id*='\"csv\"']").click()
    dash_duo.wait_for_contains_text(status, "Exported 12 image(s) (6 experimental, 6 generated)", timeout=15)
    link = dash_duo.find_element(f"{status} a.sl-export-link").get_attribute("href")
    resp = requests.get(link, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8"))))
    assert sorted(int(r["image_id"]) for r in rows) == sorted(exp + cand)
    assert (ws.root / "exports" / link.rsplit("/", 1)[1]).is_file()

    dash_duo.find_element("[id*='selection-export'][id*='explore'][id*='imagefolder']").click()
    dash_duo.wait_for_contains_text(status, ".zip", timeout=30)
    link = dash_duo.find_element(f"{status} a.sl-export-link").get_attribute("href")
    resp = requests.get(link, timeout=10)
    assert resp.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 12
        assert "train/metadata.jsonl" in zf.namelist()
    _shot(dash_duo, "explore-export.png")

    # send the selection to Label: a queue whose banner says what it holds
    dash_duo.find_element("[id*='selection-queue'][id*='explore']").click()
    dash_duo.wait_for_contains_text(
        _css_id(ids.LABEL_QUEUE_BANNER), "map selection · 12 images (6 experimental, 6 generated)", timeout=15
    )
    _wait(dash_duo, lambda: dash_duo.find_element(".nav-link.active").text == "Label")

    # the grid: select two cards, export them
    dash_duo.find_element(_css_id(ids.LABEL_QUEUE_CLEAR_BUTTON)).click()
    _wait(dash_duo, lambda: "d-none" in dash_duo.find_element(_css_id(ids.LABEL_QUEUE_ROW)).get_attribute("class"))
    for image_id in (exp[0], cand[0]):
        _click_card(dash_duo, image_id)
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"#{ids.LABEL_GRID} .sl-card.selected")) == 2)
    dash_duo.find_element("[id*='selection-export'][id*='label'][id*='\"csv\"']").click()
    grid_status = "[id*='selection-status'][id*='label']"
    dash_duo.wait_for_contains_text(grid_status, "Exported 2 image(s) (1 experimental, 1 generated)", timeout=15)
    link = dash_duo.find_element(f"{grid_status} a.sl-export-link").get_attribute("href")
    rows = list(csv.DictReader(io.StringIO(requests.get(link, timeout=10).content.decode("utf-8"))))
    assert sorted(int(r["image_id"]) for r in rows) == sorted([exp[0], cand[0]])
    _shot(dash_duo, "label-export.png")
    assert dash_duo.get_logs() == []


def _click_card(dash_duo, image_id: int) -> None:
    """Click a Label-grid card, finding it afresh if the grid was redrawn under the pointer."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def clicked():
        try:
            dash_duo.find_element(f"#{ids.LABEL_GRID} [id*='\"index\":{image_id},'][id*='label-card']").click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    _wait(dash_duo, clicked)


def test_the_viewer_never_offers_share_chart():
    from scatterloop.dashboard.figures_viewer import GRAPH_CONFIG

    assert GRAPH_CONFIG["showSendToCloud"] is False and GRAPH_CONFIG["showEditInChartStudio"] is False
