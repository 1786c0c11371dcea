"""The Label tab in headless Chromium: label by click and by keyboard, then find the events in the store."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def _css_id(component_id: str) -> str:
    return "#" + component_id


def _card(dash_duo, image_id: int):
    return dash_duo.find_element(f'[id*=\'"index":{image_id}\'][id*="label-card"]')


def _wait(dash_duo, condition, timeout: float = 10) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(dash_duo.driver, timeout).until(lambda _driver: condition())


def _set_annotator(dash_duo, name: str) -> None:
    box = dash_duo.find_element(_css_id(ids.ANNOTATOR_INPUT))
    box.send_keys(name)
    box.send_keys(Keys.TAB)  # debounce: value is sent on blur


def test_label_by_click_and_keyboard(dash_duo, small_workspace):
    app = create_app(small_workspace.settings.with_(page_size=6))
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    store = small_workspace.store
    images = [img for img, _ in store.list_images()]
    assert len(dash_duo.find_elements(".sl-card")) == 6

    _set_annotator(dash_duo, "ada")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # by click: select two cards, press the "realistic" button
    _card(dash_duo, images[0].id).click()
    _card(dash_duo, images[1].id).click()
    dash_duo.wait_for_element(".sl-card.selected")
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 2)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "label-selected.png"))
    dash_duo.find_element('[data-shortcut^="1"]').click()
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Labelled 2 image(s) 'realistic'", timeout=10)
    labels = store.current_labels()
    assert labels[images[0].id].label == "realistic" and labels[images[0].id].annotator == "ada"
    assert labels[images[1].id].label == "realistic"

    # by keyboard: select one card, press "2" (fake)
    _card(dash_duo, images[2].id).click()
    dash_duo.wait_for_element(".sl-card.selected")
    dash_duo.find_element("body").send_keys("2")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Labelled 1 image(s) 'fake'", timeout=10)
    assert store.current_labels()[images[2].id].label == "fake"

    # the history panel shows the focused image's events, and undo ("u") appends a reverting event
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_HISTORY_TABLE), "fake", timeout=10)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "label-tab.png"))
    dash_duo.find_element("body").send_keys("u")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "Undid your last action (1 image(s))", timeout=10)
    assert images[2].id not in {k for k, v in store.current_labels().items() if v.label}
    assert len(store.label_history(images[2].id)) == 2  # the label and its undo: nothing deleted

    # keyboard paging and the filter by label
    dash_duo.find_element("body").send_keys(Keys.ARROW_RIGHT)
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "7–12 of 12", timeout=10)
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_LABEL_FILTER), "realistic")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "of 2", timeout=10)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "label-filtered.png"))
    assert dash_duo.get_logs() == []


def test_jobs_tab_lists_runs(dash_duo, small_workspace):
    from scatterloop.core.jobs import run_job

    run_job(small_workspace.store, "import", {"paths": ["x"]}, lambda run_id, progress, should_stop: None)
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    for link in dash_duo.find_elements(".nav-link"):
        if link.text == "Jobs":
            link.click()
    dash_duo.wait_for_contains_text(_css_id(ids.JOBS_TABLE), "import", timeout=10)
    assert "done" in dash_duo.find_element(_css_id(ids.JOBS_TABLE)).text
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "jobs-tab.png"))
    for name in ("Explore", "Generate", "Train", "Evaluate"):
        for link in dash_duo.find_elements(".nav-link"):
            if link.text == name:
                link.click()
        dash_duo.driver.save_screenshot(str(SCREENSHOTS / f"{name.lower()}-tab.png"))
    assert dash_duo.get_logs() == []


def test_annotator_name_is_remembered_by_the_browser(dash_duo, small_workspace):
    app = create_app(small_workspace.settings)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "grace")
    _wait(
        dash_duo, lambda: dash_duo.driver.execute_script("return JSON.stringify(window.localStorage)").count("grace")
    )
    dash_duo.driver.refresh()
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _wait(dash_duo, lambda: dash_duo.find_element(_css_id(ids.ANNOTATOR_INPUT)).get_attribute("value") == "grace")
    assert dash_duo.get_logs() == []


def test_a_key_typed_into_a_dropdown_is_no_shortcut(dash_duo, small_workspace):
    """After a filter is picked its dropdown keeps the focus: a browser review pressed `a` there, which selected
    the whole page as well as opening the dropdown, then `2` labelled nothing and a later `1` the wrong cards."""
    from selenium.webdriver.common.action_chains import ActionChains

    store = small_workspace.store
    dash_duo.start_server(create_app(small_workspace.settings))
    dash_duo.wait_for_element(".sl-card", timeout=15)
    _set_annotator(dash_duo, "ada")
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_SOURCE_FILTER), "generated")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "of 6", timeout=10)
    focused = "return document.activeElement.closest('.dash-dropdown, [aria-haspopup=listbox]') !== null"
    assert dash_duo.driver.execute_script(focused)  # the dropdown kept the focus, as a person leaves it
    ActionChains(dash_duo.driver).send_keys("a").perform()  # opens the dropdown's search with "a" in it
    ActionChains(dash_duo.driver).send_keys(Keys.ESCAPE).perform()  # closes it
    ActionChains(dash_duo.driver).send_keys("1").perform()
    dash_duo.find_element(_css_id(ids.LABEL_COUNT)).click()  # state settles: the count line is plain text
    assert dash_duo.find_elements(".sl-card.selected") == []
    assert not any(lab.label for lab in store.current_labels().values())  # nothing labelled
    # outside the dropdown the shortcuts act as before
    dash_duo.find_element("body").send_keys("a")
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 6)
    assert dash_duo.get_logs() == []
