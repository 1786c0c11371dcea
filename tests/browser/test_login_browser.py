"""Login on, in headless Chromium: two annotators sign in and label (the store names each), a viewer's label is
refused, an annotator cannot cancel somebody else's run and an admin can (the Jobs tab's Cancel)."""

from __future__ import annotations

import pytest

from scatterloop.core import auth
from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_explore_browser import _open_tab
from tests.browser.test_label_browser import _card, _css_id, _wait
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser
PASSWORD = "a long password"


def _sign_in(dash_duo, name: str) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/logout")  # whoever was signed in; lands on the sign-in page
    dash_duo.wait_for_element("#login-form", timeout=15)
    dash_duo.find_element("#login-name").send_keys(name)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element(".sl-card", timeout=20)
    _wait(dash_duo, lambda: dash_duo.find_element(_css_id(ids.ANNOTATOR_INPUT)).get_attribute("value") == name)


def _label(dash_duo, image_id: int, shortcut: str) -> None:
    _card(dash_duo, image_id).click()
    _wait(dash_duo, lambda: len(dash_duo.find_elements(".sl-card.selected")) == 1)
    dash_duo.find_element(f'[data-shortcut^="{shortcut}"]').click()


def _cancel_in_jobs_tab(dash_duo, run_id: int) -> str:
    def jobs_open() -> bool:
        _open_tab(dash_duo, "Jobs")  # again, if the first click came before the tabs could take it
        return any(a.text == "Jobs" for a in dash_duo.find_elements(".nav-link.active"))

    _wait(dash_duo, jobs_open, timeout=30)
    button = f'[id*=\'"run":{run_id}\'][id*="jobs-cancel-button"]'
    dash_duo.wait_for_element(button, timeout=30)
    dash_duo.find_element(button).click()
    _wait(dash_duo, lambda: dash_duo.find_element(_css_id(ids.JOBS_STATUS)).text.strip() != "")
    return dash_duo.find_element(_css_id(ids.JOBS_STATUS)).text


def test_two_annotators_a_viewer_and_an_admin(dash_duo, small_workspace):
    store = small_workspace.store
    for name, role in (("ada", "annotator"), ("bob", "annotator"), ("vic", "viewer"), ("root", "admin")):
        auth.add_user(store, name, role, PASSWORD)
    app = create_app(small_workspace.settings.with_(login="password", page_size=6))
    dash_duo.start_server(app, navigate=False)  # the first page is the sign-in form, not the Dash app
    dash_duo.driver.get(dash_duo.server.url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.wait_for_element("#login-form", timeout=15)  # everybody meets the sign-in page first
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "login-page.png"))
    images = [img.id for img, _ in store.list_images()]

    _sign_in(dash_duo, "ada")
    box = dash_duo.find_element(_css_id(ids.ANNOTATOR_INPUT))
    assert box.get_attribute("disabled") is not None  # the annotator cannot be typed
    _label(dash_duo, images[0], "1")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "as ada", timeout=15)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "login-annotator.png"))

    _sign_in(dash_duo, "bob")
    _label(dash_duo, images[1], "2")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_STATUS), "as bob", timeout=15)
    labels = store.current_labels(images[:2])
    assert (labels[images[0]].label, labels[images[0]].annotator) == ("realistic", "ada")
    assert (labels[images[1]].label, labels[images[1]].annotator) == ("fake", "bob")

    _sign_in(dash_duo, "vic")
    assert dash_duo.find_element(_css_id(ids.LOGIN_ROLE_BADGE)).text == "viewer"
    _label(dash_duo, images[2], "1")
    dash_duo.wait_for_contains_text(_css_id(ids.APP_ERROR), "vic (viewer) may not label", timeout=15)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "login-viewer-refused.png"))
    assert images[2] not in store.current_labels([images[2]])

    # a run ada started (recorded as hers) that is still running: bob may not cancel it, an admin may
    run_id = store.create_run("embed", {"method": "pca"}, started_by="ada")
    store.update_run(run_id, status="running", progress=0.3, message="training the autoencoder")
    _sign_in(dash_duo, "bob")
    assert "only an admin may cancel it" in _cancel_in_jobs_tab(dash_duo, run_id)
    assert not store.cancel_requested(run_id)
    _sign_in(dash_duo, "root")
    assert f"Cancel requested for run {run_id}" in _cancel_in_jobs_tab(dash_duo, run_id)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / "login-admin-cancel.png"))
    assert store.cancel_requested(run_id)
    assert dash_duo.get_logs() == []
