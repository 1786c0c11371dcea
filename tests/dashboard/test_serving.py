"""The real app over HTTP (Flask's test client) on a temporary workspace: no file outside the allowed media is
served, however the path is spelt; every response carries the security headers; bad label requests and
unknown ids get a clear message, never HTTP 500."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image as PILImage

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app

SECRET = b"TOP-SECRET-MARKER"


def _png(extra: bytes = b"") -> bytes:
    buf = io.BytesIO()
    PILImage.new("L", (4, 4), 128).save(buf, format="PNG")
    return buf.getvalue() + extra


@pytest.fixture
def served(workspace, tmp_path):
    """The app's test client, the workspace with one image, files it may serve and files it must not."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", 1, tmp_path / "sim", seed=0, size=32)
    (image_id,) = import_paths(workspace, [tmp_path / "sim"], source="experimental").image_ids
    root = workspace.root
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png(SECRET))
    (outside / "secret.html").write_bytes(b"<script>alert(1)</script>" + SECRET)
    (root / "runs" / "5" / "checkpoints").mkdir(parents=True)
    (root / "runs" / "5" / "checkpoints" / "model.safetensors").write_bytes(SECRET)
    (root / "runs" / "5" / "notes.html").write_bytes(b"<script>alert(1)</script>" + SECRET)
    (root / "runs" / "5" / "curve.png").write_bytes(_png())
    (root / "exports" / "report.html").write_bytes(b"<html><script>alert(1)</script></html>")
    (root / "exports" / "copy.db").write_bytes(SECRET)
    sqlite = (root / "scatterloop.db").read_bytes()[:4096]  # copies of a database under names no rule lists
    (root / "exports" / "labels.txt").write_bytes(sqlite)
    (root / "exports" / "copy.sqlite-wal").write_bytes(SECRET)
    (root / "exports" / "labels.db-journal").write_bytes(SECRET)
    (root / "runs" / "5" / "link.png").symlink_to(outside / "secret.png")
    (root / "exports" / "link.html").symlink_to(outside / "secret.html")
    (root / "originals" / "out").symlink_to(outside, target_is_directory=True)
    (root / "cache" / "polar").mkdir(exist_ok=True)
    (root / "cache" / "polar" / ("a" * 64 + ".png")).symlink_to(outside / "secret.png")
    app = create_app(workspace.settings)
    client = app.server.test_client()
    yield client, app, workspace, image_id, outside
    app.server.config["SCATTERLOOP_SERVICES"].store.dispose()


def _attempts(outside) -> list[str]:
    db = "scatterloop.db"
    names = [
        f"../{db}",
        f"../../{db}",
        f"..%2f{db}",
        f"%2e%2e/{db}",
        f"%2e%2e%2f{db}",
        f"%252e%252e%252f{db}",
        f"%252e%252e/{db}",
        f"..%5c{db}",
        f"..\\{db}",
        "%2fetc%2fpasswd",
        "/etc/passwd",
        str(outside / "secret.png").lstrip("/"),
        f"%2f{str(outside / 'secret.png').lstrip('/')}",
        "link.png",
        "link.html",
        "out/secret.png",
        "5/link.png",
        "5/notes.html",
        "5/checkpoints/model.safetensors",
        "copy.db",
        "labels.txt",
        "copy.sqlite-wal",
        "labels.db-journal",
        db,
        "a" * 64 + ".png",
        f"{'a' * 64}.png/../../../{db}",
        "%00secret.png",
    ]
    prefixes = [
        "/media/thumbs/",
        "/media/polar/",
        "/media/recon/1/",
        "/media/files/originals/",
        "/media/files/thumbs/",
        "/media/files/runs/",
        "/media/files/exports/",
        "/media/files/cache/",
        "/media/files/",
        "/media/files/..%2f",
        "/media/files/%2e%2e/",
    ]
    return [p + n for p in prefixes for n in names]


def test_nothing_outside_the_allowed_media_is_served(served):
    client, _app, workspace, _image_id, outside = served
    served_paths = []
    for url in _attempts(outside):
        resp = client.get(url)
        body = resp.get_data()
        assert resp.status_code != 500, url
        assert SECRET not in body and not body.startswith(b"SQLite format"), url
        if resp.status_code == 200 and b"DashRenderer" not in body:  # Dash answers unknown pages with its index
            served_paths.append(url)
    assert served_paths == [], served_paths


def test_allowed_media_are_served_with_their_type_and_exports_as_downloads(served):
    client, _app, workspace, image_id, _outside = served
    image = workspace.store.get_image(image_id)
    thumb = client.get(f"/media/thumbs/{image.sha256}.png")
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    curve = client.get("/media/files/runs/5/curve.png")
    assert curve.status_code == 200 and curve.mimetype == "image/png"
    assert "attachment" not in curve.headers.get("Content-Disposition", "")
    report = client.get("/media/files/exports/report.html")
    assert report.status_code == 200
    assert report.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/media/files/runs/5/notes.html").status_code == 404
    # a polar warp under a calibration is named by image and calibration: the route serves that name too
    from scatterloop.callbacks.media import polar_url
    from scatterloop.core.explore import polar_view
    from tests.calibrated import write_poni

    write_poni(workspace.root / "calibration" / "default.poni", shape=(image.height, image.width))
    view = polar_view(workspace, image_id)
    assert "-" in view.warp_png and view.source == "poni"
    warp = client.get(polar_url(view.warp_png))
    assert warp.status_code == 200 and warp.mimetype == "image/png"


def test_every_response_carries_the_security_headers(served):
    client, app, workspace, image_id, _outside = served
    image = workspace.store.get_image(image_id)
    for url in ("/", f"/media/thumbs/{image.sha256}.png", "/media/files/exports/report.html", "/no/such/page"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "SAMEORIGIN", url
        assert headers["Referrer-Policy"] == "same-origin", url
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp, url
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], url
    index = client.get("/").get_data(as_text=True)
    assert "DashRenderer" in index
    assert all(
        h.startswith("'sha256-") and h in client.get("/").headers["Content-Security-Policy"] for h in app.csp_hashes()
    )


def _callback(client, app, output_has: tuple[str, ...], inputs: list, state: list, changed: list[str]):
    """POST one callback the way the browser does; returns the response."""
    key = next(k for k in app.callback_map if all(o in k for o in output_has))
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]}
        for part in key.strip(".").split("...")
    ]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }
    return client.post("/_dash-update-component", json=body)


def _label_request(client, app, label: str, selection: list):
    button = {"id": ids.label_button(label), "property": "n_clicks", "value": 1}
    state = [
        {"id": ids.LABEL_SELECTION_STORE, "property": "data", "value": selection},
        {"id": ids.ANNOTATOR_INPUT, "property": "value", "value": "ada"},
        {"id": ids.LABEL_VERSION_STORE, "property": "data", "value": 0},
    ]
    changed = [json.dumps(ids.label_button(label), sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    return _callback(
        client, app, (ids.LABEL_VERSION_STORE + ".data", ids.LABEL_STATUS + ".children"), [[button]], state, changed
    )


def test_label_outside_the_label_set_or_of_an_unknown_image_is_refused(served):
    client, app, workspace, image_id, _outside = served
    for label, selection, expected in (
        ("<img src=x onerror=alert(1)>", [image_id], "is not one of this workspace's labels"),
        ("fake", [image_id, 987654], "no such image in this workspace: #987654"),
        ("fake", ["1 OR 1=1"], "not an image number"),
    ):
        resp = _label_request(client, app, label, selection)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        assert expected in resp.get_data(as_text=True)
    assert workspace.store.current_labels() == {}
    ok = _label_request(client, app, "fake", [image_id])
    assert ok.status_code == 200 and workspace.store.current_labels()[image_id].label == "fake"


def test_unknown_image_ids_get_a_message_not_a_500(served):
    client, app, _workspace, _image_id, _outside = served
    for focus, expected in ((987654, "image #987654: not in this workspace"), ("x<y", "not an image number")):
        inputs = [
            {"id": ids.LABEL_FOCUS_STORE, "property": "data", "value": focus},
            {"id": ids.LABEL_VERSION_STORE, "property": "data", "value": 0},
        ]
        resp = _callback(client, app, (ids.LABEL_DETAIL + ".children",), inputs, [], [ids.LABEL_FOCUS_STORE + ".data"])
        assert resp.status_code == 200 and expected in resp.get_data(as_text=True)
    click = {"points": [{"customdata": "not-a-number"}]}
    inputs = [{"id": ids.EXPLORE_GRAPH, "property": "clickData", "value": click}, []]  # + gallery cards (none)
    state = [{"id": ids.EXPLORE_RUN_STORE, "property": "data", "value": 424242}]
    resp = _callback(
        client, app, (ids.EXPLORE_DETAIL + ".children",), inputs, state, [ids.EXPLORE_GRAPH + ".clickData"]
    )
    assert resp.status_code == 200 and "app-error" in resp.get_data(as_text=True)
