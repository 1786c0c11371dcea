"""Login over HTTP (Flask's test client): sign-in, the gate in front of every page, media and callback, the
annotator taken from the session whatever the browser sends, viewers refused, proxy-header sign-in."""

from __future__ import annotations

import re

import pytest

from scatterloop.core import auth
from scatterloop.dashboard import access, ids
from scatterloop.dashboard.app import create_app

PASSWORD = "a long password"


@pytest.fixture
def login_app(small_workspace):
    store = small_workspace.store
    for name, role in (("ada", "annotator"), ("vic", "viewer"), ("root", "admin")):
        auth.add_user(store, name, role, PASSWORD)
    app = create_app(small_workspace.settings.with_(login="password"))
    return app, small_workspace


def _sign_in(client, name, password=PASSWORD, next_="/"):
    return client.post("/login", data={"name": name, "password": password, "next": next_})


def _label_request(client, image_id: int, label: str, annotator: str, headers: dict | None = None) -> dict:
    """The body the browser sends when the label button is pressed, built from the app's own dependencies."""
    deps = client.get("/_dash-dependencies", headers=headers).get_json()
    button_id = '{"label":["ALL"],"type":"label-apply-button"}'
    # the server's callback (the browser's own acknowledgement listens to the button too)
    (dep,) = [d for d in deps if any(i["id"] == button_id for i in d["inputs"]) and not d.get("clientside_function")]

    def parse(spec: str) -> list[dict]:
        return [{"id": s.rsplit(".", 1)[0], "property": s.rsplit(".", 1)[1].split("@")[0]} for s in spec.split("...")]

    outputs = parse(dep["output"].strip("."))
    button = {"id": {"type": "label-apply-button", "label": label}, "property": "n_clicks", "value": 1}
    values = {
        ids.LABEL_SELECTION_STORE: [image_id],
        ids.LABEL_FOCUS_STORE: None,
        ids.ANNOTATOR_INPUT: annotator,
        ids.LABEL_VERSION_STORE: 0,
    }
    state = [{"id": s["id"], "property": s["property"], "value": values[s["id"]]} for s in dep["state"]]
    return {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [[button]],
        "changedPropIds": [f'{{"label":"{label}","type":"label-apply-button"}}.n_clicks'],
        "state": state,
    }


def test_everything_but_sign_in_and_static_code_needs_a_user(login_app):
    app, ws = login_app
    client = app.server.test_client()
    image = ws.store.list_images()[0][0]
    assert client.get("/").status_code == 302 and "/login" in client.get("/").headers["Location"]
    assert client.get("/_dash-layout").status_code == 401
    assert client.get(f"/media/thumbs/{image.sha256}.png").status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/assets/app.css").status_code == 200
    page = client.get("/login")
    assert page.status_code == 200 and b'name="password"' in page.data
    assert page.headers["X-Content-Type-Options"] == "nosniff"  # the security headers cover it too
    wrong = _sign_in(client, "ada", "not the password")
    assert wrong.status_code == 401 and b"Wrong name or password" in wrong.data
    assert client.get("/_dash-layout").status_code == 401
    ok = _sign_in(client, "ada", next_="//evil.example/steal")
    assert ok.status_code == 302 and ok.headers["Location"] == "/"  # never an open redirect
    assert client.get(f"/media/thumbs/{image.sha256}.png").status_code == 200
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    client.get("/logout")
    assert client.get("/_dash-layout").status_code == 401


def test_the_page_shows_the_signed_in_annotator_fixed(login_app):
    app, _ = login_app
    client = app.server.test_client()
    _sign_in(client, "ada")
    layout = client.get("/_dash-layout").get_data(as_text=True)
    field = re.search(r'\{[^{}]*"id":\s*"' + ids.ANNOTATOR_INPUT + r'"[^{}]*\}', layout).group(0)
    assert '"value": "ada"' in field.replace('":"', '": "') or '"value":"ada"' in field
    assert '"disabled": true' in field.replace('":true', '": true')
    assert ids.LOGIN_SIGN_OUT_LINK in layout and "annotator" in layout


def test_labels_carry_the_signed_in_name_whatever_the_browser_sends(login_app):
    app, ws = login_app
    image_id = ws.store.list_images()[0][0].id
    client = app.server.test_client()
    _sign_in(client, "ada")
    resp = client.post("/_dash-update-component", json=_label_request(client, image_id, "fake", "mallory"))
    assert resp.status_code == 200, resp.data
    label = ws.store.current_labels([image_id])[image_id]
    assert (label.label, label.annotator) == ("fake", "ada")


def test_a_viewer_cannot_label(login_app):
    app, ws = login_app
    image_id = ws.store.list_images()[0][0].id
    client = app.server.test_client()
    _sign_in(client, "vic")
    resp = client.post("/_dash-update-component", json=_label_request(client, image_id, "fake", "vic"))
    body = resp.get_json()
    assert resp.status_code == 200 and body["response"] == {}
    assert "may not label" in body["sideUpdate"][ids.APP_ERROR]["children"]
    assert ws.store.current_labels([image_id]) == {}


def test_a_removed_user_is_signed_out_at_once(login_app):
    app, ws = login_app
    client = app.server.test_client()
    _sign_in(client, "vic")
    assert client.get("/_dash-layout").status_code == 200
    ws.store.remove_user("vic")
    assert client.get("/_dash-layout").status_code == 401


def test_proxy_header_names_the_user(small_workspace):
    auth.add_user(small_workspace.store, "ada", "annotator", None)
    app = create_app(small_workspace.settings.with_(login="header", login_header="X-Forwarded-User"))
    client = app.server.test_client()
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-layout", headers={"X-Forwarded-User": "ada"}).status_code == 200
    image_id = small_workspace.store.list_images()[0][0].id
    body = _label_request(client, image_id, "realistic", "someone else", {"X-Forwarded-User": "ada"})
    client.post("/_dash-update-component", json=body, headers={"X-Forwarded-User": "ada"})
    assert small_workspace.store.current_labels([image_id])[image_id].annotator == "ada"
    refused = client.post("/_dash-update-component", json=body, headers={"X-Forwarded-User": "stranger"})
    assert "may not label" in refused.get_json()["sideUpdate"][ids.APP_ERROR]["children"]
    assert client.post("/login", data={"name": "ada", "password": "x"}).status_code == 401  # no passwords here


def test_every_button_is_classified_once():
    buttons = {v for k, v in vars(ids).items() if k.endswith("_BUTTON") and isinstance(v, str)}
    buttons |= {v["type"] for k, v in vars(ids).items() if k.endswith("_ALL") and "button" in str(v.get("type", ""))}
    sets = (access.LABEL_ACTIONS, access.JOB_ACTIONS, access.READ_ACTIONS)
    assert buttons == set().union(*sets), buttons ^ set().union(*sets)
    assert sum(len(s) for s in sets) == len(buttons)  # no button in two sets


def test_without_login_nothing_changes(small_workspace):
    client = create_app(small_workspace.settings).server.test_client()
    assert client.get("/").status_code == 200 and client.get("/_dash-layout").status_code == 200
    assert b'name="password"' not in client.get("/login").data  # Dash's own page, no sign-in form


def _cancel_request(client, button: str, run_id: int, changed: list[str]) -> dict:
    """The body of a tab's Cancel callback, with the changed properties the sender chooses to name."""
    deps = client.get("/_dash-dependencies").get_json()
    (dep,) = [d for d in deps if [i["id"] for i in d["inputs"]] == [button] and not d.get("clientside_function")]
    (state,) = dep["state"]
    return {
        "output": dep["output"],
        "outputs": {"id": dep["output"].split(".")[0], "property": dep["output"].split(".")[1].split("@")[0]},
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "changedPropIds": changed,
        "state": [{"id": __import__("json").loads(state["id"]), "property": state["property"], "value": run_id}],
    }


def test_a_viewer_cannot_cancel_by_naming_nothing_changed(login_app):
    """Review 2026-12-07: the role check read only `changedPropIds`, which the browser writes; a viewer's request
    naming nothing changed ran the Train tab's Cancel on an admin's run."""
    app, ws = login_app
    run_id = ws.store.create_run("round", {}, started_by="root")
    ws.store.start_run(run_id)
    client = app.server.test_client()
    _sign_in(client, "vic")
    for changed in ([], ["app-annotator-input.value"]):
        body = client.post(
            "/_dash-update-component", json=_cancel_request(client, ids.TRAIN_CANCEL_BUTTON, run_id, changed)
        ).get_json()
        assert "may not start or cancel jobs" in body["sideUpdate"][ids.APP_ERROR]["children"]
    assert not ws.store.cancel_requested(run_id)


def test_a_tabs_cancel_is_refused_on_somebody_elses_run_as_in_the_jobs_tab(login_app):
    app, ws = login_app
    run_id = ws.store.create_run("round", {}, started_by="root")
    ws.store.start_run(run_id)
    client = app.server.test_client()
    _sign_in(client, "ada")
    request = _cancel_request(client, ids.TRAIN_CANCEL_BUTTON, run_id, [f"{ids.TRAIN_CANCEL_BUTTON}.n_clicks"])
    text = client.post("/_dash-update-component", json=request).get_data(as_text=True)
    assert f"Not cancelled: run {run_id} was started by root; only an admin may cancel it" in text
    assert not ws.store.cancel_requested(run_id)
    own = ws.store.create_run("round", {}, started_by="ada")
    ws.store.start_run(own)
    request = _cancel_request(client, ids.TRAIN_CANCEL_BUTTON, own, [f"{ids.TRAIN_CANCEL_BUTTON}.n_clicks"])
    assert f"Cancelling round run {own}" in client.post("/_dash-update-component", json=request).get_data(as_text=True)
    assert ws.store.cancel_requested(own)


def test_the_annotator_field_is_signed_by_its_place_not_by_the_id_the_browser_gives(login_app):
    """Dash passes state by position: an id with a trailing space escaped the replacement and labelled as admin."""
    app, ws = login_app
    image_id = ws.store.list_images()[0][0].id
    client = app.server.test_client()
    _sign_in(client, "ada")
    request = _label_request(client, image_id, "fake", "root")
    for entry in request["state"]:
        if entry["id"] == ids.ANNOTATOR_INPUT:
            entry["id"] += " "
    assert client.post("/_dash-update-component", json=request).status_code == 200
    label = ws.store.current_labels([image_id])[image_id]
    assert (label.label, label.annotator) == ("fake", "ada")


def test_only_the_exact_public_addresses_skip_sign_in(login_app):
    app, _ = login_app
    client = app.server.test_client()
    assert client.get("/healthz").status_code == 200
    for path in ("/healthzfoo", "/healthz/x", "/_favicon.icox"):
        assert client.get(path).status_code == 302, path


def test_a_viewer_cannot_label_by_giving_the_button_another_id(login_app):
    """Review 2026-12-07: the check read the ids a request gives its inputs, which the browser writes; Dash finds
    the callback by `output` and hands it values by place, so a made-up id in the button's place labelled."""
    app, ws = login_app
    image_id = ws.store.list_images()[0][0].id
    client = app.server.test_client()
    _sign_in(client, "vic")
    request = _label_request(client, image_id, "fake", "vic")
    request["inputs"][0][0]["id"] = {"type": "something-harmless", "label": "fake"}
    request["changedPropIds"] = ['{"label":"fake","type":"something-harmless"}.n_clicks']
    body = client.post("/_dash-update-component", json=request).get_json()
    assert "may not label" in body["sideUpdate"][ids.APP_ERROR]["children"]
    assert ws.store.current_labels([image_id]) == {}


def test_a_viewers_jobs_table_redraw_is_refused_without_a_banner(login_app):
    """The Jobs table shows a Cancel button in every row and is redrawn every 2 s; each redraw calls the cancel
    callback with no click. A viewer saw "may not start or cancel jobs" at every redraw."""
    app, ws = login_app
    run_id = ws.store.create_run("round", {}, started_by="root")
    ws.store.start_run(run_id)
    client = app.server.test_client()
    _sign_in(client, "vic")
    deps = client.get("/_dash-dependencies").get_json()
    (dep,) = [d for d in deps if d["output"].startswith(ids.JOBS_STATUS)]
    button = {"id": {"type": ids.JOBS_CANCEL_ALL["type"], "run": run_id}, "property": "n_clicks"}
    request = {"output": dep["output"], "outputs": {"id": ids.JOBS_STATUS, "property": "children"}, "state": []}
    request["changedPropIds"] = [f'{{"run":{run_id},"type":"{ids.JOBS_CANCEL_ALL["type"]}"}}.n_clicks']
    for clicks, banner in ((None, False), (1, True)):
        request["inputs"] = [[{**button, "value": clicks}]]
        body = client.post("/_dash-update-component", json=request).get_json()
        assert body["response"] == {} and ("sideUpdate" in body) == banner, body
    assert not ws.store.cancel_requested(run_id)
