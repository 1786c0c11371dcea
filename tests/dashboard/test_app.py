"""The app builds; ids are unique; every callback id is in the layout; layering rules hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def _layout_ids(component) -> set:
    found = set()
    stack = [component]
    while stack:
        c = stack.pop()
        cid = getattr(c, "id", None)
        if cid is not None:
            found.add(cid if isinstance(cid, str) else str(sorted(cid.items())))
        children = getattr(c, "children", None)
        if isinstance(children, (list, tuple)):
            stack.extend(children)
        elif children is not None and hasattr(children, "to_plotly_json"):
            stack.append(children)
        for attr in ("label",):
            sub = getattr(c, attr, None)
            if hasattr(sub, "to_plotly_json"):
                stack.append(sub)
    return found


def test_ids_are_unique_strings():
    values = [v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)+", v) for v in values)


def test_every_callback_id_exists_in_layout(settings):
    app = create_app(settings)
    present = _layout_ids(app.layout)
    pattern_types = {
        "label-card",
        "label-apply-button",
        "explore-apply-button",
        "jobs-cancel-button",
        "explore-gallery-card",
        "viewer-open",
    }
    for cb in app.callback_map.values():
        for dep in cb["inputs"] + cb["state"]:
            cid = dep["id"]
            if cid.startswith("{") and '["ALL"]' not in cid:  # a fixed dict id: it is in the layout
                assert str(sorted(json.loads(cid).items())) in present, cid
            elif cid.startswith("{"):
                assert any(t in cid for t in pattern_types), cid
            else:
                assert cid in present, cid
    outputs = [o for key in app.callback_map for o in key.split("...") if o]
    for out in outputs:
        cid = out.strip(".").rsplit(".", 1)[0].split("@")[0]
        if not cid.startswith("{"):
            assert cid in present, cid


def test_opening_a_tab_asks_the_server_only_for_that_tab(settings):
    """No server callback listens to the tabs' active_tab (each switch would send every such callback, of every
    tab, and the opened tab's answer waits behind them); each listens to its own tab's store (callbacks/tabs.py),
    whose names are the layout's tab ids."""
    app = create_app(settings)
    tabs = [c for c in _walk(app.layout) if getattr(c, "id", None) == ids.TABS][0]
    assert tuple(t.tab_id for t in tabs.children) == ids.TAB_NAMES
    on_switch = [k for k, cb in app.callback_map.items() if any(d["id"] == ids.TABS for d in cb["inputs"])]
    assert on_switch and all("callback" not in app.callback_map[k] for k in on_switch), on_switch  # clientside
    shown = {ids.tab_shown(t): t for t in ids.TAB_NAMES}
    listeners = {shown[d["id"]] for cb in app.callback_map.values() for d in cb["inputs"] if d["id"] in shown}
    assert listeners == set(ids.TAB_NAMES)


def _walk(component):
    stack = [component]
    while stack:
        c = stack.pop()
        yield c
        children = getattr(c, "children", None)
        if isinstance(children, (list, tuple)):
            stack.extend(children)
        elif children is not None and hasattr(children, "to_plotly_json"):
            stack.append(children)


def test_presentation_never_imports_the_ml_stack_or_reads_env():
    heavy = re.compile(r"^(import|from) (torch|diffusers|timm|umap|transformers)\b", re.M)
    for folder in ("dashboard", "callbacks"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            assert not heavy.search(text), path
            assert "os.getenv" not in text and "os.environ" not in text, path
    for path in (ROOT / "core").rglob("*.py"):
        assert not re.search(r"^(import dash|from dash)\b", path.read_text(), re.M), path


def test_server_binds_loopback_by_default(settings):
    assert settings.host == "127.0.0.1"


def test_polar_caption_says_no_centre_and_never_shows_a_sentinel_score():
    from scatterloop.dashboard.components.explore_detail import polar_caption

    text = lambda parts: "".join(p if isinstance(p, str) else p.children for p in parts)  # noqa: E731
    guess = {"centre_x": 10.0, "centre_y": 20.0, "source": "search"}
    none = text(polar_caption({**guess, "score": 0.2, "status": "no centre", "reason": "dark frame"}))
    assert none.startswith("no centre") and "dark frame" in none and "symmetry 0.2" not in none
    sentinel = text(polar_caption({**guess, "score": -1.0, "status": "found", "confidence": 0.9}))
    assert "n/a" in sentinel and "-1.00" not in sentinel
    good = text(polar_caption({**guess, "score": 0.71, "status": "found", "confidence": 0.93}))
    assert "symmetry 0.710" in good and "confidence 0.93" in good
    calibrated = text(polar_caption({**guess, "source": "poni", "score": 0.9, "status": "found", "confidence": 1.0}))
    assert "(calibration poni)" in calibrated and "confidence" not in calibrated


def test_every_job_bar_has_a_cancel_beside_it(settings):
    """Every job is cancellable where it was started (issue 14): for each job's progress bar a callback takes a
    Cancel button's click with the run that bar follows, and the job's own callback enables that button while it
    runs."""
    app = create_app(settings)
    for bar in ids.JOB_PROGRESS_BARS:
        run_store = json.dumps(ids.job_run(bar), sort_keys=True, separators=(",", ":"))
        cancels = [
            d["id"]
            for cb in app.callback_map.values()
            if any(s["id"].replace(" ", "") == run_store for s in cb["state"])
            for d in cb["inputs"]
            if "cancel" in d["id"] and d["property"] == "n_clicks"
        ]
        assert cancels, f"no Cancel for the job of {bar}"
        jobs = [
            k
            for k, cb in app.callback_map.items()
            if f"`{bar}.value`" in str((cb.get("background") or {}).get("progress"))
        ]
        running = [(cb.get("running") or {}).get("running", {}) for cb in app._callback_list if cb["output"] in jobs]
        assert jobs and all(r.get(f"{cancels[0]}.disabled") is False for r in running), (bar, cancels[0], running)


def test_settings_a_person_chooses_survive_a_reload(settings):
    """Job settings (Explore map, Generate, Train, Evaluate) and the viewer's display (scale, clip, colour map,
    mask) are kept by the browser (localStorage), so a reload does not forget them (issue 14)."""
    from scatterloop.dashboard.layout import KEPT_SETTINGS

    app = create_app(settings)
    kept = {
        c.id
        for c in _walk_all(app.layout)
        if getattr(c, "persistence", None) is True and getattr(c, "persistence_type", None) == "local"
    }
    wanted = set(KEPT_SETTINGS) | {ids.EXPLORE_EPOCHS_INPUT, ids.EXPLORE_SEED_INPUT, ids.EXPLORE_COLOUR_SELECT}
    wanted |= {ids.VIEWER_SCALE_RADIO, ids.VIEWER_CLIP_SLIDER, ids.VIEWER_COLOURMAP_SELECT, ids.VIEWER_MASK_SWITCH}
    assert wanted <= kept, wanted - kept


def _walk_all(component):
    """Every component of the layout, inside tabs, modals and any child list."""
    stack = [component]
    while stack:
        c = stack.pop()
        if isinstance(c, (list, tuple)):
            stack.extend(c)
            continue
        yield c
        children = getattr(c, "children", None)
        if children is not None and not isinstance(children, (str, int, float)):
            stack.append(children)
