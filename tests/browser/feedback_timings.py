"""Time from a user action to visible feedback, in headless Chromium against `scatterloop serve` on a workspace
(the demo one, with a map). Not a test (it asserts nothing and is not collected): a measurement for the README.

    python -m tests.browser.feedback_timings --workspace demo-workspace --port 8072 --json

Each number is wall time from the action (Selenium's click or key, or a Plotly event fired as Plotly fires it)
to the first poll that sees the feedback in the DOM; polls are 10 ms apart plus Selenium's own round trip
(a few ms), so every number is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.by import By

from scatterloop.dashboard import ids

ALL_POINTS = """(gd) => { const pts = []; gd.data.forEach((t, c) => (t.x || []).forEach((x, i) =>
    pts.push({curveNumber: c, pointNumber: i, pointIndex: i, x: x, y: t.y[i]})));
    return pts.filter((_, i) => i % 12 === 0).slice(0, 49); }"""
NTH_POINT = """(gd) => { for (let c = gd.data.length - 1; c >= 0; c--) { const n = (gd.data[c].x || []).length;
    if (n > K) { return [{curveNumber: c, pointNumber: K, pointIndex: K, x: gd.data[c].x[K], y: gd.data[c].y[K]}]; }
    } }"""


def _driver() -> webdriver.Chrome:
    from tests.conftest import pytest_setup_options

    opts = pytest_setup_options()
    return webdriver.Chrome(options=opts)


def _until(driver, js: str, timeout: float = 60.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if driver.execute_script(js):
            return time.perf_counter() - t0
        time.sleep(0.01)
    raise TimeoutError(js)


def _timed(driver, action, js: str, timeout: float = 60.0) -> float:
    t0 = time.perf_counter()
    action()
    _until(driver, js, timeout)
    return round(time.perf_counter() - t0, 3)


def _emit(driver, event: str, points_js: str) -> None:
    driver.execute_script(
        f"""const gd = document.getElementById('{ids.EXPLORE_GRAPH}').querySelector('.js-plotly-plot');
        const points = ({points_js})(gd);
        gd.emit('{event}', {{points: points, lassoPoints: {{x: [0, 1, 1], y: [0, 0, 1]}}}});"""
    )


def _key(driver, key: str) -> None:
    driver.execute_script(
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}));", key
    )


def _tab(driver, name: str) -> None:
    for link in driver.find_elements(By.CSS_SELECTOR, ".nav-link"):
        if link.text == name:
            link.click()
            return


def _text(component_id: str, needle: str) -> str:
    return f"return (document.getElementById('{component_id}') || {{}}).innerText?.includes({json.dumps(needle)})"


IMAGES_DRAWN = (
    "(() => {{ const im = [...document.querySelectorAll('{sel}')];"
    " return im.length > 0 && im.every(i => i.complete && i.naturalWidth > 0); }})()"
)
ZOOM = (
    f"const gd = document.getElementById('{ids.VIEWER_GRAPH}').querySelector('.js-plotly-plot');"
    "const w = gd.layout.meta.drawn.x[1], h = gd.layout.meta.drawn.y[0];"
    "Plotly.relayout(gd, {'xaxis.range': [w / 4, w / 2], 'yaxis.range': [h / 2, h / 4]});"
)


def _guarded(name: str, part, d) -> dict:
    """A part's numbers, or the one-line reason it could not be measured (the other parts still are)."""
    try:
        return part(d)
    except Exception as exc:  # noqa: BLE001 - a measurement reports what stopped it
        return {f"{name}: not measured": f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"}


def _viewer(d) -> dict:
    """Go to an image by id (the search box), then zoom: the frame, then the region at full resolution."""
    out = {}
    box = d.find_element(By.ID, ids.SEARCH_INPUT)
    box.clear()
    box.send_keys("#7")
    t = time.perf_counter()
    box.send_keys("\n")
    _until(d, _text(ids.VIEWER_TITLE, "Image 7 ·"))
    out["Viewer: search #7 → window with the image's title"] = round(time.perf_counter() - t, 3)
    _until(d, _text(ids.VIEWER_CAPTION, "whole frame"))
    out["Viewer: search #7 → frame drawn"] = round(time.perf_counter() - t, 3)
    out["Viewer: zoom → region at full resolution"] = _timed(
        d, lambda: d.execute_script(ZOOM), _text(ids.VIEWER_CAPTION, "columns")
    )
    d.find_element(By.CSS_SELECTOR, f"#{ids.VIEWER_MODAL} .btn-close").click()
    _until(d, f"return !document.getElementById('{ids.VIEWER_GRAPH}')")
    return out


def _explain(d) -> dict:
    """Train tab, Explain image 7 with the first model offered (needs a finished round with a network)."""
    _tab(d, "Train")
    _until(d, f"return !!document.getElementById('{ids.TRAIN_EXPLAIN_BUTTON}')")
    select = d.find_element(By.ID, ids.TRAIN_EXPLAIN_MODEL_SELECT)
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", select)
    select.click()
    options = d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option")
    if not options:
        return {"Train: Explain → Grad-CAM panel": "no model to explain with"}
    options[0].click()
    button = d.find_element(By.ID, ids.TRAIN_EXPLAIN_BUTTON)
    out = {}
    for k, image in (("first, cold", "7"), ("second", "8")):
        box = d.find_element(By.ID, ids.TRAIN_EXPLAIN_IMAGE_INPUT)
        box.clear()
        box.send_keys(image)
        out[f"Train: Explain ({k}) → panel"] = _timed(
            d,
            lambda: d.execute_script("arguments[0].click()", button),  # not through the dropdown menu above it
            _text(ids.TRAIN_EXPLAIN_PANEL, f"#{image} ") + " || " + _text(ids.TRAIN_EXPLAIN_PANEL, "annot"),
        )
    out["Train: Explain panel text"] = d.find_element(By.ID, ids.TRAIN_EXPLAIN_PANEL).text[:160]
    return out


SPINNER = "return [...document.querySelectorAll('.dash-spinner')].some(e => e.offsetParent !== null)"


def measure(url: str) -> dict:
    d = _driver()
    d.set_window_size(1400, 1000)
    out: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        d.get(url)
        _until(d, "return document.querySelectorAll('.sl-card img').length > 0")
        out["page load → first Label grid page"] = round(time.perf_counter() - t0, 3)
        box = d.find_element(By.ID, ids.ANNOTATOR_INPUT)
        box.send_keys("timer\t")
        time.sleep(0.5)
        cards = d.find_elements(By.CSS_SELECTOR, ".sl-card")
        out["Label: click card → highlighted"] = _timed(
            d, cards[0].click, "return document.querySelectorAll('.sl-card.selected').length === 1"
        )
        first = cards[0].get_attribute("title")
        out["Label: key 2 → status names the image"] = _timed(
            d, lambda: _key(d, "2"), _text(ids.LABEL_STATUS, first.replace("image ", "#"))
        )
        out["Label: → next page → new count"] = _timed(
            d, lambda: _key(d, "ArrowRight"), _text(ids.LABEL_COUNT, "page 2/")
        )
        out["Label: → next page → every thumbnail drawn"] = _timed(
            d,
            lambda: _key(d, "ArrowRight"),
            _text(ids.LABEL_COUNT, "page 3/") + " && " + IMAGES_DRAWN.format(sel=f"#{ids.LABEL_GRID} .sl-card img"),
        )
        out["Label: ? → keyboard help shown"] = _timed(d, lambda: _key(d, "?"), _text(ids.KEYS_MODAL, "Ctrl+Z"))
        d.find_element(By.CSS_SELECTOR, ".modal .btn-close").click()
        _until(d, "return !document.querySelector('.modal.show')")

        out["Explore: tab → map drawn"] = _timed(d, lambda: _tab(d, "Explore"), _text(ids.EXPLORE_GRAPH, "images ·"))
        time.sleep(1.0)
        for k, name in ((3, "first"), (40, "second")):
            nth = NTH_POINT.replace("K", str(k))
            image_id = d.execute_script(
                f"const gd = document.getElementById('{ids.EXPLORE_GRAPH}').querySelector('.js-plotly-plot');"
                f"const p = ({nth})(gd)[0]; return gd.data[p.curveNumber].customdata[p.pointNumber];"
            )
            detail = (
                _text(ids.EXPLORE_DETAIL, f"Image {image_id}\n")
                + f" && !!document.getElementById('{ids.EXPLORE_POLAR_TEXT}')"
            )
            t, spinner = time.perf_counter(), None
            _emit(d, "plotly_click", nth)
            while True:  # one poll for both: the spinner (if the answer takes over 0.3 s) and the detail itself
                seen = d.execute_script(f"return [({SPINNER[7:]}), (() => {{ {detail} }})()]")
                if seen[0] and spinner is None:
                    spinner = round(time.perf_counter() - t, 3)
                if seen[1]:
                    break
                if time.perf_counter() - t > 60:
                    raise TimeoutError(detail)
                time.sleep(0.01)
            out[f"Explore: click point ({name}) → spinner"] = spinner  # None: answered before the 0.3 s delay
            out[f"Explore: click point ({name}) → detail panel"] = round(time.perf_counter() - t, 3)
        out["Explore: lasso 49 points → selection tab + count"] = _timed(
            d, lambda: _emit(d, "plotly_selected", ALL_POINTS), _text(ids.EXPLORE_GALLERY_COUNT, "49 selected")
        )
        out["Explore: lasso → first gallery thumbnail"] = round(
            _until(d, f"return document.querySelectorAll('#{ids.EXPLORE_GALLERY} .sl-card img').length > 0"), 3
        )
        out["Explore: relabel selection → status"] = _timed(
            d,
            lambda: d.find_element(By.CSS_SELECTOR, '[id*="explore-apply-button"][id*="fake"]').click(),
            _text(ids.EXPLORE_STATUS, "abelled"),
        )
        out["Explore: relabel status text"] = d.find_element(By.ID, ids.EXPLORE_STATUS).text
        out["Explore: undo → status"] = _timed(
            d, lambda: d.find_element(By.ID, ids.EXPLORE_UNDO_BUTTON).click(), _text(ids.EXPLORE_STATUS, "Undid")
        )
        out.update(_guarded("Viewer", _viewer, d))
        out["Jobs: tab → run table"] = _timed(d, lambda: _tab(d, "Jobs"), _text(ids.JOBS_TABLE, "embed"))
        out["Evaluate: tab → table or its message"] = _timed(
            d, lambda: _tab(d, "Evaluate"), _text(ids.EVAL_TABLE, "valuat")
        )
        out.update(_guarded("Explain", _explain, d))
        out["console errors"] = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    finally:
        d.quit()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--port", type=int, default=8072)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    url = f"http://127.0.0.1:{args.port}/"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from scatterloop.core.cli import main; main()",
            "serve",
            "--workspace",
            args.workspace,
            "--port",
            str(args.port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        t0 = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - t0 > 300:
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        served = round(time.perf_counter() - t0, 2)
        result = {"serve → first page served (s)": served, **measure(url)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
