"""The detail panel and the Evaluate grid show I(q) in inverse Angstrom and the (q, chi) cake for a calibrated
image, and I(r) in pixels with a note for an uncalibrated one; the cake PNG is served by content hash."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.callbacks.evaluate_grid import example_grid
from scatterloop.callbacks.explore import detail
from scatterloop.callbacks.services import make_services
from scatterloop.core.ingest import import_paths
from scatterloop.core.qprofile import NOTE_NO_CALIBRATION
from scatterloop.dashboard import ids
from tests.calibrated import ring_frame, write_poni


def _walk(component):
    """Every component of a Dash tree, depth first."""
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def _by_id(tree, component_id):
    found = [c for c in _walk(tree) if getattr(c, "id", None) == component_id]
    return found[0] if found else None


def _text(component) -> str:
    children = component.children
    return children if isinstance(children, str) else "".join(str(c) for c in children)


@pytest.fixture
def ring_image(workspace, tmp_path) -> int:
    path = tmp_path / "ring.npy"
    np.save(path, ring_frame())
    return import_paths(workspace, [path], source="experimental").image_ids[0]


def test_detail_with_a_calibration_shows_i_of_q_and_the_cake(workspace, ring_image):
    write_poni(workspace.root / "calibration" / "default.poni")
    services = make_services(workspace.settings)
    tree = detail(services, ring_image, None)
    profile = _by_id(tree, ids.EXPLORE_PROFILE_GRAPH).figure
    assert profile.layout.xaxis.title.text == "q (Å⁻¹)"
    cake = _by_id(tree, ids.EXPLORE_CAKE_GRAPH).figure
    assert cake.data[0].type == "heatmap" and cake.layout.yaxis.title.text == "χ (°)"
    assert cake.layout.xaxis.title.text == "q (Å⁻¹)" and len(cake.data[0].z) == len(cake.data[0].y)
    assert "default.poni" in _text(_by_id(tree, ids.EXPLORE_PROFILE_NOTE))


def test_detail_without_a_calibration_keeps_pixels_and_says_so(workspace, ring_image):
    services = make_services(workspace.settings)
    tree = detail(services, ring_image, None)
    assert _by_id(tree, ids.EXPLORE_PROFILE_GRAPH).figure.layout.xaxis.title.text == "r (px)"
    assert _by_id(tree, ids.EXPLORE_CAKE_GRAPH) is None
    assert _text(_by_id(tree, ids.EXPLORE_PROFILE_NOTE)) == NOTE_NO_CALIBRATION


def test_evaluate_grid_shows_cakes_and_i_of_q_and_the_cake_is_served(workspace, tmp_path):
    from scatterloop.dashboard.app import create_app

    np.save(tmp_path / "exp.npy", ring_frame(seed=2))
    np.save(tmp_path / "gen.npy", ring_frame(seed=3))
    # the experimental frame names its calibration (as an import's metadata column would); the generated one
    # has none and there is no default: one profile plot per unit
    calibrated = import_paths(
        workspace, [tmp_path / "exp.npy"], source="experimental", provenance={"calibration": "beam.poni"}
    ).image_ids[0]
    plain = import_paths(workspace, [tmp_path / "gen.npy"], source="generated").image_ids[0]
    write_poni(workspace.root / "calibration" / "beam.poni")
    services = make_services(workspace.settings)
    grid = example_grid(services, workspace, {"rings": {"experimental": [calibrated], "fake": [plain]}})
    pictures = [c for c in _walk(grid) if "sl-polar-warp" in (getattr(c, "className", None) or "")]
    assert [("sl-cake" in p.className, p.src.split("/")[2]) for p in pictures] == [(True, "cake"), (False, "polar")]
    graphs = [c.figure for c in _walk(grid) if getattr(c, "figure", None) is not None]
    assert sorted(g.layout.xaxis.title.text for g in graphs) == ["q (Å⁻¹)", "r (px)"]
    notes = " ".join(_text(p) for p in _by_id(grid, ids.EVAL_PROFILE_NOTE).children)
    assert "beam.poni" in notes and NOTE_NO_CALIBRATION in notes

    client = create_app(workspace.settings).server.test_client()
    resp = client.get(pictures[0].src)
    assert resp.status_code == 200 and resp.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/media/cake/" + "0" * 64 + ".png").status_code == 404
    escape = client.get("/media/cake/..%2F..%2Fstore.db")  # falls through to the page route, never to a file
    assert escape.status_code == 404 or escape.mimetype == "text/html"
