"""The flows of issue 14 in headless Chromium: label keys act only on highlighted cards (finding 2), a map
relabel leaves experimental frames alone unless asked (1), the selection opens beside the map, not below the
fold, and its cards open the detail (3), slow answers show a spinner (4); keyboard help on `?`; settings kept
across a reload; every tab at two window sizes with no console error and no request to another host."""

from __future__ import annotations

import threading

import pytest

from scatterloop.callbacks import explore as explore_callbacks
from scatterloop.callbacks import label_actions
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import ALL_POINTS, FIRST_POINT, GRAPH_JS, _emit, _open_tab
from tests.browser.test_label_browser import _card, _css_id, _set_annotator, _wait
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

TABS = ("Explore", "Label", "Generate", "Train", "Evaluate", "Jobs")


def _with_map(ws) -> None:
    """A PCA map of the workspace (seconds): the Explore flows need points, not a good map."""
    from scatterloop.core.embed import MapParams
    from scatterloop.core.embed.jobs import run_build

    _, res = run_build(ws, MapParams(method="pca", epochs=1, seed=0))
    assert res is not None


def _press(dash_duo, key: str) -> None:
    dash_duo.driver.execute_script(
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}));", key
    )


def test_label_keys_act_only_on_highlighted_cards_and_name_them(dash_duo, small_workspace):
    store = small_workspace.store
    app = create_app(small_workspace.settings.with_(page_size=6))
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    images = [img for img, _ in store.list_images()]

    # click a card twice: it is the last one clicked, but nothing is highlighted; "1" must label nothing
    _card(dash_duo, images[0].id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 1)
    _card(dash_duo, images[0].id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 0)
    _press(dash_duo, "1")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Nothing selected", timeout=10)
    assert store.current_labels() == {}

    # highlighted cards are labelled, and the status names them
    _card(dash_duo, images[1].id).click()
    _card(dash_duo, images[2].id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 2)
    _press(dash_duo, "2")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), f"#{images[1].id}, #{images[2].id}", timeout=10)
    labels = store.current_labels()
    assert {i for i, s in labels.items() if s.label} == {images[1].id, images[2].id}

    # a selection does not follow the user to another page: what is labelled is what is visible
    _card(dash_duo, images[3].id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 1)
    _press(dash_duo, "ArrowRight")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "7–12 of 12", timeout=10)
    _press(dash_duo, "1")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Nothing selected", timeout=10)
    assert images[3].id not in {i for i, s in store.current_labels().items() if s.label}

    # keyboard help on "?", Ctrl+Z shown on the Undo button
    assert "Ctrl+Z" in dash_duo.find_element(_css_id(ids.LABEL_UNDO_BUTTON)).text
    _press(dash_duo, "?")
    dash_duo.wait_for_contains_text(_css_id(ids.KEYS_MODAL), "Keyboard shortcuts", timeout=10)
    assert "Ctrl+Z" in dash_duo.find_element(_css_id(ids.KEYS_MODAL)).text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fade = "return getComputedStyle(document.querySelector('.modal.show')).opacity"
    _wait(dash_duo, lambda: dash_duo.driver.execute_script(fade) == "1")  # the picture after the fade-in
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "keys-help.png"))
    dash_duo.find_element(".modal .btn-close").click()
    _wait(dash_duo, lambda: not dash_duo.find_elements(".modal.show"))

    # the detail panel lets go of an image the grid no longer shows (a filter change)
    _card(dash_duo, images[8].id).click()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_DETAIL), images[8].original_name, timeout=10)
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_LABEL_FILTER), "fake")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "of 2", timeout=10)
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_DETAIL), "Click a thumbnail", timeout=10)
    assert dash_duo.get_logs() == []


def test_map_selection_beside_the_map_relabels_candidates_only(dash_duo, small_workspace):
    store = small_workspace.store
    _with_map(small_workspace)
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=20)
    experimental = {img.id for img, _ in store.list_images() if img.source == "experimental"}

    _emit(dash_duo, "plotly_selected", ALL_POINTS)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), "12 selected", timeout=10)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_SIDE_TABS), "Selection (12)", timeout=10)
    dash_duo.wait_for_contains_text(
        _css_id(ids.EXPLORE_SELECTION_KINDS), "6 candidate(s) and 6 experimental frame(s)", timeout=10
    )
    dash_duo.wait_for_element(f"{_css_id(ids.EXPLORE_GALLERY)} .sl-card", timeout=10)
    # the gallery opened where the eye is: its first card is inside the 800 px window, beside the map
    top = dash_duo.driver.execute_script(
        f"return document.querySelector('#{ids.EXPLORE_GALLERY} .sl-card').getBoundingClientRect().top"
    )
    assert 0 < top < dash_duo.driver.execute_script("return window.innerHeight"), top
    # captions are whole, not cut to "#."
    cut = dash_duo.driver.execute_script(
        f"return [...document.querySelectorAll('#{ids.EXPLORE_GALLERY} .sl-caption')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert cut == []
    # the count and its pager on one line, the export buttons on one line under it, at both window sizes
    for size in ((1600, 1000), (1280, 800)):
        dash_duo.driver.set_window_size(*size)
        _wait(dash_duo, lambda: _selection_header_lines(dash_duo) == (1, 1), timeout=10)
        dash_duo.driver.save_screenshot(str(SCREENSHOTS / f"explore-selection-side-{size[0]}x{size[1]}.png"))
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-selection-side.png"))

    dash_duo.find_element('[id*="explore-apply-button"][id*="fake"]').click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "6 experimental frame(s) left as they are", 10)
    labels = store.current_labels()
    assert {i for i, s in labels.items() if s.label == "fake"} == {i for i, _ in labels.items()} - experimental
    assert not experimental & {i for i, s in labels.items() if s.label}

    # undo keeps the selection (and patches, not redraws, the figure)
    dash_duo.find_element(_css_id(ids.EXPLORE_UNDO_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "Undid your last action (6 image(s))", 10)
    assert "12 selected" in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY_COUNT)).text
    assert not any(s.label for s in store.current_labels().values())

    # a gallery card opens its image's detail
    card = dash_duo.find_elements(f"{_css_id(ids.EXPLORE_GALLERY)} .sl-card")[0]
    card.click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_DETAIL), "Image ", timeout=30)
    dash_duo.wait_for_element(f"{_css_id(ids.EXPLORE_POLAR_TEXT)}", timeout=30)
    assert dash_duo.find_element(_css_id(ids.EXPLORE_DETAIL)).is_displayed()
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-detail-from-gallery.png"))
    assert dash_duo.get_logs() == []


def _selection_header_lines(dash_duo) -> tuple[int, int]:
    """(lines the Selection tab's count takes, rows its three export/queue buttons take)."""
    return tuple(
        dash_duo.driver.execute_script(
            f"""const c = document.getElementById('{ids.EXPLORE_GALLERY_COUNT}');
            const tools = [...document.querySelectorAll('[id*="selection-"][id*="explore"]')].filter(
                e => e.tagName === 'BUTTON');
            const tops = new Set(tools.map(b => Math.round(b.getBoundingClientRect().top)));
            const lines = Math.round(c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight));
            return [lines, tools.length === 3 ? tops.size : -1];"""
        )
    )


def _gated(monkeypatch, module, name: str) -> threading.Event:
    """Hold `module.name` (a server callback's core call) until the returned event is set (at most 30 s), so a test
    sees what the page shows while the server works: no race, no sleep."""
    real, gate = getattr(module, name), threading.Event()

    def held(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    return gate


def test_map_relabel_and_undo_say_so_at_once_then_name_the_images(dash_duo, small_workspace, monkeypatch):
    """Feedback within 0.3 s (issue 14): the lasso's count comes from the browser; "Label selection" and Undo say
    what they are doing, with a spinner, before the server answers; the answer then names the images."""
    store = small_workspace.store
    _with_map(small_workspace)
    relabel_gate = _gated(monkeypatch, explore_callbacks, "relabel")
    undo_gate = _gated(monkeypatch, explore_callbacks, "undo")
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=20)
    candidates = sorted(img.id for img, _ in store.list_images() if img.source != "experimental")

    _emit(dash_duo, "plotly_selected", ALL_POINTS)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GALLERY_COUNT), "12 selected · page 1/1", timeout=10)
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_SIDE_TABS), "Selection (12)", timeout=10)
    dash_duo.wait_for_element(f"{_css_id(ids.EXPLORE_GALLERY)} .sl-card", timeout=10)

    spinner = f"{_css_id(ids.EXPLORE_STATUS)} .spinner-border"
    dash_duo.find_element('[id*="explore-apply-button"][id*="fake"]').click()
    dash_duo.wait_for_contains_text(
        _css_id(ids.EXPLORE_STATUS),
        "Labelling the candidates among 12 selected image(s) 'fake'…",
        timeout=10,
    )
    assert dash_duo.find_element(spinner).is_displayed()
    assert not any(s.label for s in store.current_labels().values())  # said while the server still works
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-relabel-acknowledged.png"))
    relabel_gate.set()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "Labelled 6 image(s) 'fake' as ada", timeout=10)
    assert ", ".join(f"#{i}" for i in candidates[:2]) in dash_duo.find_element(_css_id(ids.EXPLORE_STATUS)).text
    assert not dash_duo.find_elements(spinner)
    assert {i for i, s in store.current_labels().items() if s.label == "fake"} == set(candidates)
    # the gallery's badges follow the labels (redrawn by the labels counter, not by the status line)
    _wait(dash_duo, lambda: "fake" in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY)).text, timeout=10)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "explore-relabel-done.png"))

    dash_duo.find_element(_css_id(ids.EXPLORE_UNDO_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "Undoing your last labelling action…", timeout=10)
    assert dash_duo.find_element(spinner).is_displayed()
    undo_gate.set()
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_STATUS), "Undid your last action (6 image(s))", timeout=10)
    assert not dash_duo.find_elements(spinner)
    assert not any(s.label for s in store.current_labels().values())
    _wait(dash_duo, lambda: "fake" not in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY)).text, timeout=10)
    assert "12 selected" in dash_duo.find_element(_css_id(ids.EXPLORE_GALLERY_COUNT)).text
    assert dash_duo.get_logs() == []


def test_label_key_names_the_images_at_once_then_the_server_says_it_labelled_them(
    dash_duo, small_workspace, monkeypatch
):
    """Feedback within 0.3 s (issue 14): a label key says in the browser which images it is labelling and with
    which label, with a spinner, before the server has written anything; the server's answer then replaces it.
    Undo the same. The server's writes are held on an event until the test has seen the acknowledgement."""
    store = small_workspace.store
    label_gate = _gated(monkeypatch, label_actions, "apply_label")
    undo_gate = _gated(monkeypatch, label_actions, "undo")
    dash_duo.start_server(create_app(small_workspace.settings.with_(page_size=6)))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    images = [img for img, _ in store.list_images()]
    second = small_workspace.settings.labels[1]  # key "2"

    _card(dash_duo, images[1].id).click()
    _card(dash_duo, images[2].id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 2)
    spinner = f"{_css_id(ids.LABEL_STATUS)} .spinner-border"
    _press(dash_duo, "2")
    dash_duo.wait_for_contains_text(
        _css_id(ids.LABEL_STATUS), f"Labelling #{images[1].id}, #{images[2].id} '{second}'…", timeout=10
    )
    assert dash_duo.find_element(spinner).is_displayed()
    assert store.current_labels() == {}  # said while the server still works
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "label-key-acknowledged.png"))
    label_gate.set()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), f"Labelled 2 image(s) '{second}' as ada", timeout=10)
    assert f"#{images[1].id}, #{images[2].id}" in dash_duo.find_element(_css_id(ids.LABEL_STATUS)).text
    assert not dash_duo.find_elements(spinner)
    assert {i for i, s in store.current_labels().items() if s.label == second} == {images[1].id, images[2].id}

    dash_duo.find_element(_css_id(ids.LABEL_UNDO_BUTTON)).click()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Undoing your last labelling action…", timeout=10)
    assert dash_duo.find_element(spinner).is_displayed()
    assert any(s.label for s in store.current_labels().values())
    undo_gate.set()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Undid your last action (2 image(s))", timeout=10)
    assert not dash_duo.find_elements(spinner)
    assert not any(s.label for s in store.current_labels().values())

    # nothing highlighted: no acknowledgement, the server's refusal only (and nothing held: the gate is open)
    _press(dash_duo, "1")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Nothing selected", timeout=10)
    assert dash_duo.get_logs() == []


def test_a_slow_answer_shows_a_spinner(dash_duo, small_workspace, monkeypatch):
    _with_map(small_workspace)
    real = explore_callbacks.detail
    seen = threading.Event()

    def slow_detail(*args, **kwargs):  # slow until the test has seen the spinner (at most 30 s): no race
        seen.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(explore_callbacks, "detail", slow_detail)
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    dash_duo.wait_for_contains_text(_css_id(ids.EXPLORE_GRAPH), "12 images", timeout=20)
    _wait(dash_duo, lambda: not dash_duo.find_elements(".dash-spinner"), timeout=20)
    _emit(dash_duo, "plotly_click", FIRST_POINT)
    _wait(dash_duo, lambda: any(e.is_displayed() for e in dash_duo.find_elements(".dash-spinner")), timeout=10)
    seen.set()
    dash_duo.wait_for_element(_css_id(ids.EXPLORE_POLAR_TEXT), timeout=30)
    _wait(dash_duo, lambda: not dash_duo.find_elements(".dash-spinner"), timeout=10)
    assert dash_duo.get_logs() == []


def test_settings_survive_a_reload(dash_duo, small_workspace):
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    box = dash_duo.find_element(_css_id(ids.EXPLORE_EPOCHS_INPUT))
    box.clear()
    box.send_keys("7")
    _wait(dash_duo, lambda: "7" in dash_duo.driver.execute_script("return JSON.stringify(window.localStorage)"))
    dash_duo.driver.refresh()
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _open_tab(dash_duo, "Explore")
    _wait(dash_duo, lambda: dash_duo.find_element(_css_id(ids.EXPLORE_EPOCHS_INPUT)).get_attribute("value") == "7")
    assert dash_duo.get_logs() == []


def _driver_that_sees_warnings():
    """A Chromium like dash_duo's, but whose console log keeps warnings (dash_duo's keeps only errors) and whose
    performance log lists every network request the page makes."""
    from selenium import webdriver

    from tests.conftest import pytest_setup_options

    options = pytest_setup_options()
    options.set_capability("goog:loggingPrefs", {"browser": "WARNING", "performance": "ALL"})
    return webdriver.Chrome(options=options)


def _requested(driver) -> list[str]:
    """The URL of every request the page sent, from Chromium's own network log."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


# every drawn plot whose only content is the "n/a" sentence: [its text, the mode-bar buttons it has]
EMPTY_PLOTS = """return [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd.offsetParent !== null
    && !(gd.data || []).length && (gd.layout.annotations || []).some(a => String(a.text).includes('n/a')))
    .map(gd => [gd.layout.annotations[0].text, gd.querySelectorAll('.modebar-btn').length]);"""


CARD_FIT = """return [...document.querySelectorAll('.sl-grid .sl-card')].map(c => {
    const cap = c.querySelector('.sl-caption'), img = c.querySelector('img'), badge = c.querySelector('.sl-badge');
    const whole = cap.scrollWidth <= cap.clientWidth + 1 && cap.getBoundingClientRect().height < 24;
    const onImage = !badge || badge.getBoundingClientRect().bottom <= img.getBoundingClientRect().bottom;
    return [cap.textContent + ' ' + (badge ? badge.textContent : ''), whole && onImage]; });"""


def test_every_tab_at_two_sizes_without_errors_or_other_hosts(dash_duo, small_workspace):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _with_map(small_workspace)
    dash_duo.start_server(create_app(small_workspace.settings))
    own = dash_duo.server_url.rstrip("/")
    driver = _driver_that_sees_warnings()
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(own)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".sl-card"))
        # the console log reports warnings: a probe warning must come back (else this test would be blind)
        driver.execute_script("console.warn('scatterloop-console-probe')")
        wait.until(lambda d: any("scatterloop-console-probe" in e["message"] for e in d.get_log("browser")))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        requested, console, empty_plots = [], [], []
        for width, height in ((1280, 800), (1600, 1000)):
            driver.set_window_size(width, height)  # the window; then grow it so that the page itself gets that size
            inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
            driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
            for name in TABS:
                for link in driver.find_elements(By.CSS_SELECTOR, ".nav-link"):
                    if link.text == name:
                        link.click()
                wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".dash-spinner"))
                if name == "Explore":
                    wait.until(lambda d: "12 images" in d.find_element(By.ID, ids.EXPLORE_GRAPH).text)
                driver.save_screenshot(str(SCREENSHOTS / f"tab-{name.lower()}-{width}x{height}.png"))
                empty_plots += driver.execute_script(EMPTY_PLOTS)
                if name == "Label":  # every caption whole on one line, every badge on its thumbnail
                    cards = driver.execute_script(CARD_FIT)
                    assert cards and all(fits for _, fits in cards), (width, cards)
                requested += _requested(driver)
                console += [e for e in driver.get_log("browser") if "webgl" not in e["message"].lower()]
        # an empty plot says "n/a" and why, and has no toolbar (no zoom or download of nothing)
        assert empty_plots and all(n_buttons == 0 for _, n_buttons in empty_plots), empty_plots
        # no toolbar offers to send a figure to Plotly's cloud
        assert (
            driver.execute_script(
                'return document.querySelectorAll(\'[data-title*="Share"], [data-title*="Chart Studio"],'
                ' a[href*="plot.ly"], a[href*="plotly.com"]\').length'
            )
            == 0
        )
        assert driver.execute_script(GRAPH_JS + "._context.showSendToCloud") is False
        elements = driver.execute_script(
            "return Array.from(document.querySelectorAll('[src], link[href]')).map(e => e.src || e.href);"
        )
        assert requested and all(u.startswith(own + "/") for u in requested if not u.startswith("data:"))
        assert [u for u in elements if not u.startswith((own + "/", "data:", "blob:"))] == []
        assert console == []
    finally:
        driver.quit()
