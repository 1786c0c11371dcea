"""Time from a user action to visible feedback, in headless Chromium against `scatterloop serve` on a workspace
(the demo one, with a map). Not a test (it asserts nothing and is not collected): a measurement for the README.

    python -m tests.browser.feedback_timings --workspace demo-workspace --port 8072 --json

Each action starts from a page at rest (no callback in flight, two frames painted: `_settle`). Each number is
wall time from the action (Selenium's click or key, or a Plotly event fired as Plotly fires it)
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


# every Dash callback request the page makes: its outputs, when it left and came back (ms, page clock), its size
FETCH_LOG = """window.__dashlog = []; const _fetch = window.fetch;
window.fetch = async function (url, init) {
    if (!String(url).includes('_dash-update-component')) { return _fetch.apply(this, arguments); }
    let output = '?'; try { output = JSON.parse(init.body).output; } catch (e) {}
    const entry = {output: output, start: performance.now()}; window.__dashlog.push(entry);
    const response = await _fetch.apply(this, arguments);
    const text = await response.clone().text();
    entry.end = performance.now(); entry.bytes = text.length;
    entry.server = response.headers.get('Server-Timing'); return response; };"""


def _driver() -> webdriver.Chrome:
    from tests.conftest import pytest_setup_options

    opts = pytest_setup_options()
    driver = webdriver.Chrome(options=opts)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FETCH_LOG})
    return driver


PROFILE: dict[str, list] = {}


def _requests_since(driver, since_ms: float, seen_ms: float) -> list:
    """The callback requests that left after `since_ms`: [outputs, left at, round trip (ms), kB, done before the
    feedback was seen]; what the server, the wire and the page's own drawing each cost."""
    log = driver.execute_script("return window.__dashlog || []")
    return [
        [
            e["output"][:90],
            round(e["start"] - since_ms),
            round(e["end"] - e["start"]) if e.get("end") else None,
            round(e.get("bytes", 0) / 1024, 1),
            bool(e.get("end")) and e["end"] <= seen_ms,
        ]
        for e in log
        if e["start"] >= since_ms
    ]


def _until(driver, js: str, timeout: float = 60.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if driver.execute_script(js):
            return time.perf_counter() - t0
        time.sleep(0.01)
    raise TimeoutError(js)


def _settle(driver) -> None:
    """Wait until the page is quiet: no callback request in flight and two frames painted since. Each action is
    then timed from a page at rest, not while the previous action's trailing work (a gallery redrawn after its
    status line, say) still holds the browser's one thread."""
    _until(driver, "return (window.__dashlog || []).every(e => e.end !== undefined)")
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"
    )


def _timed(driver, action, js: str, timeout: float = 60.0, name: str | None = None) -> float:
    _settle(driver)
    since = driver.execute_script("return performance.now()")
    t0 = time.perf_counter()
    action()
    _until(driver, js, timeout)
    took = round(time.perf_counter() - t0, 3)
    if name:
        PROFILE[name] = _requests_since(driver, since, driver.execute_script("return performance.now()"))
    return took


WATCH = """window.__fb = {first: null, final: null}; if (window.__fbmo) { window.__fbmo.disconnect(); }
const seen = (key, holds) => { if (window.__fb[key] === null && holds()) { window.__fb[key] = -1;
    requestAnimationFrame(() => setTimeout(() => { window.__fb[key] = performance.now(); }, 0)); } };
const check = () => { seen('first', () => { FIRST }); seen('final', () => { FINAL }); };
window.__fbmo = new MutationObserver(check);
window.__fbmo.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});"""


def _timed_two(driver, action, first_js: str, final_js: str, name: str, timeout: float = 60.0) -> tuple:
    """(first, final) for an action with an acknowledgement (or a spinner) before its answer.

    `final` is polled like every other number (an upper bound). `first` is read from the page's own clock: a
    MutationObserver sees the DOM change the moment React commits it and notes the end of the next frame's paint
    (requestAnimationFrame, then a task). A poll can miss a line that stands only a few frames before the answer
    replaces it, or see it late when the page's one thread is busy right after painting it. None: never shown."""
    _settle(driver)
    driver.execute_script(WATCH.replace("FIRST", first_js).replace("FINAL", final_js))
    since = driver.execute_script("return performance.now()")
    t0 = time.perf_counter()
    action()
    _until(driver, final_js, timeout)
    final = round(time.perf_counter() - t0, 3)
    driver.execute_async_script(  # a paint noted just now lands after this frame
        "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => setTimeout(() => done(1), 0));"
    )
    fb = driver.execute_script("return [window.__fb.first, window.__fbmo.disconnect()]")[0]
    PROFILE[name] = _requests_since(driver, since, driver.execute_script("return performance.now()"))
    return (round((fb - since) / 1000, 3) if fb and fb > 0 else None), final


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
    _settle(d)
    t = time.perf_counter()
    box.send_keys("\n")
    _until(d, _text(ids.VIEWER_TITLE, "Image 7 ·"))
    out["Viewer: search #7 → window with the image's title"] = round(time.perf_counter() - t, 3)
    _until(d, _text(ids.VIEWER_CAPTION, "whole frame"))
    out["Viewer: search #7 → frame drawn"] = round(time.perf_counter() - t, 3)
    ack, done = _timed_two(
        d,
        lambda: d.execute_script(ZOOM),
        _text(ids.VIEWER_CAPTION, "drawing this region"),
        _text(ids.VIEWER_CAPTION, "columns"),
        "Viewer: zoom → region at full resolution",
    )
    out["Viewer: zoom → caption 'drawing this region at full resolution…'"] = ack
    out["Viewer: zoom → region at full resolution"] = done
    for link in d.find_elements(By.CSS_SELECTOR, f"#{ids.VIEWER_MODAL} .nav-link"):
        if link.text == "Compare":
            link.click()
    _until(d, f"return document.getElementById('{ids.COMPARE_NEAREST_BUTTON}')?.offsetParent != null")
    ack, drawn = _timed_two(
        d,
        lambda: d.find_element(By.ID, ids.COMPARE_NEAREST_BUTTON).click(),
        _text(ids.COMPARE_INFO, "Finding the 3"),
        _text(ids.COMPARE_INFO, "Nearest experimental"),
        "Viewer: compare with the 3 nearest experimental frames",
    )
    out["Viewer: compare nearest → 'Finding the 3 … nearest' line"] = ack
    out["Viewer: compare nearest → 4 images drawn"] = drawn
    d.find_element(By.CSS_SELECTOR, f"#{ids.VIEWER_MODAL} .btn-close").click()
    _until(d, f"return !document.getElementById('{ids.VIEWER_GRAPH}')")
    return out


def _search(d) -> dict:
    """Search by text (a pattern name): the hits' count line, then every hit's thumbnail drawn."""
    box = d.find_element(By.ID, ids.SEARCH_INPUT)
    box.clear()
    box.send_keys("rings")
    spinner, count = _timed_two(
        d,
        lambda: box.send_keys("\n"),
        SPINNER,
        _text(ids.SEARCH_COUNT, "match"),
        "Search: text → count line",
    )
    out = {"Search: 'rings' → spinner": spinner, "Search: 'rings' → count line": count}
    out["Search: 'rings' → every hit's thumbnail drawn"] = round(
        count + _until(d, "return " + IMAGES_DRAWN.format(sel=f"#{ids.SEARCH_RESULTS} .sl-card img")), 3
    )
    out["Search: count line"] = d.find_element(By.ID, ids.SEARCH_COUNT).text
    d.find_element(By.ID, ids.SEARCH_CLOSE_BUTTON).click()
    return out


def _explain(d) -> dict:
    """Train tab, Explain image 7 with the first model offered (needs a finished round with a network)."""
    _tab(d, "Train")
    _until(d, f"return !!document.getElementById('{ids.TRAIN_EXPLAIN_BUTTON}')")
    select = d.find_element(By.ID, ids.TRAIN_EXPLAIN_MODEL_SELECT)
    # Bootstrap scrolls smoothly: a click during the scroll lands on whatever passes under the old point (the
    # "click intercepted" of an earlier run), so jump there at once and wait until the menu's button is on screen
    d.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", select)
    _until(
        d,
        f"const r = document.getElementById('{ids.TRAIN_EXPLAIN_MODEL_SELECT}').getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight",
    )
    select.click()
    _until(d, "return document.querySelectorAll('.dash-dropdown-options .dash-dropdown-option').length > 0", 10)
    options = d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option")
    networks = [o for o in options if "physics" not in o.text.lower()]  # a network has a pixel map to show
    chosen = (networks or options)[0]
    model = chosen.text
    chosen.click()
    _until(d, _text(ids.TRAIN_EXPLAIN_MODEL_SELECT, model.splitlines()[0][:20]), 10)
    button = d.find_element(By.ID, ids.TRAIN_EXPLAIN_BUTTON)
    out = {"Train: Explain model": model}
    for k, image in (("first, cold", "7"), ("second", "8")):
        box = d.find_element(By.ID, ids.TRAIN_EXPLAIN_IMAGE_INPUT)
        box.clear()
        box.send_keys(image)
        before = d.find_element(By.ID, ids.TRAIN_EXPLAIN_PANEL).text
        panel = f"const t = document.getElementById('{ids.TRAIN_EXPLAIN_PANEL}').innerText.trim();"
        ack, done = _timed_two(
            d,
            lambda: d.execute_script("arguments[0].click()", button),  # not through the dropdown menu above it
            _text(ids.TRAIN_EXPLAIN_PANEL, f"Explaining #{image}"),
            panel + f"return t.length > 0 && t !== {json.dumps(before.strip())} && !t.includes('Explaining #')",
            f"Train: Explain ({k}) → panel",
        )
        out[f"Train: Explain ({k}) → 'Explaining #… with …' line + spinner"] = ack
        out[f"Train: Explain ({k}) → panel"] = done
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
        first = cards[0].get_attribute("title")
        shown = f"const im = document.querySelector('#{ids.LABEL_DETAIL} img[alt=\"{first}\"]');"
        highlighted, panel = _timed_two(
            d,
            cards[0].click,
            "return document.querySelectorAll('.sl-card.selected').length === 1",
            shown + "return !!im && im.complete && im.naturalWidth > 0",
            "Label: click card → highlighted, detail panel",
        )
        out["Label: click card → highlighted"] = highlighted
        out["Label: click card → detail panel with its image"] = panel
        named = first.replace("image ", "#")
        ack, done = _timed_two(
            d,
            lambda: _key(d, "2"),
            _text(ids.LABEL_STATUS, f"Labelling {named}"),
            _text(ids.LABEL_STATUS, "Labelled") + " && " + _text(ids.LABEL_STATUS, named)[7:],
            "Label: key 2 → status names the image",
        )
        out["Label: key 2 → 'Labelling #…' acknowledgement"] = ack
        out["Label: key 2 → status names the image"] = done
        out["Label: → next page → new count"] = _timed(
            d, lambda: _key(d, "ArrowRight"), _text(ids.LABEL_COUNT, "page 2/"), name="Label: → next page → new count"
        )
        out["Label: → next page → every thumbnail drawn"] = _timed(
            d,
            lambda: _key(d, "ArrowRight"),
            _text(ids.LABEL_COUNT, "page 3/") + " && " + IMAGES_DRAWN.format(sel=f"#{ids.LABEL_GRID} .sl-card img"),
            name="Label: → next page → every thumbnail drawn",
        )
        out["Label: ? → keyboard help shown"] = _timed(
            d, lambda: _key(d, "?"), _text(ids.KEYS_MODAL, "Ctrl+Z"), name="Label: ? → keyboard help shown"
        )
        d.find_element(By.CSS_SELECTOR, ".modal .btn-close").click()
        _until(d, "return !document.querySelector('.modal.show')")

        out["Explore: tab → map drawn"] = _timed(
            d, lambda: _tab(d, "Explore"), _text(ids.EXPLORE_GRAPH, "images ·"), name="Explore: tab → map drawn"
        )
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
            _settle(d)
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
            d,
            lambda: _emit(d, "plotly_selected", ALL_POINTS),
            _text(ids.EXPLORE_GALLERY_COUNT, "49 selected"),
            name="Explore: lasso 49 points → selection tab + count",
        )
        out["Explore: lasso → first gallery thumbnail"] = round(
            _until(d, f"return document.querySelectorAll('#{ids.EXPLORE_GALLERY} .sl-card img').length > 0"), 3
        )
        ack, done = _timed_two(
            d,
            lambda: d.find_element(By.CSS_SELECTOR, '[id*="explore-apply-button"][id*="fake"]').click(),
            _text(ids.EXPLORE_STATUS, "Labelling"),
            _text(ids.EXPLORE_STATUS, "abelled"),
            "Explore: relabel selection → status",
        )
        out["Explore: relabel selection → 'Labelling …' acknowledgement"] = ack
        out["Explore: relabel selection → status"] = done
        out["Explore: relabel status text"] = d.find_element(By.ID, ids.EXPLORE_STATUS).text
        ack, done = _timed_two(
            d,
            lambda: d.find_element(By.ID, ids.EXPLORE_UNDO_BUTTON).click(),
            _text(ids.EXPLORE_STATUS, "Undoing"),
            _text(ids.EXPLORE_STATUS, "Undid"),
            "Explore: undo → status",
        )
        out["Explore: undo → 'Undoing …' acknowledgement"] = ack
        out["Explore: undo → status"] = done
        out.update(_guarded("Viewer", _viewer, d))
        out.update(_guarded("Search", _search, d))
        out["Train: tab → results table"] = _timed(
            d, lambda: _tab(d, "Train"), _text(ids.TRAIN_TABLE, "round"), name="Train: tab → results table"
        )
        out["Jobs: tab → run table"] = _timed(
            d, lambda: _tab(d, "Jobs"), _text(ids.JOBS_TABLE, "embed"), name="Jobs: tab → run table"
        )
        out["Evaluate: tab → table or its message"] = _timed(
            d,
            lambda: _tab(d, "Evaluate"),
            _text(ids.EVAL_TABLE, "valuat"),
            name="Evaluate: tab → table or its message",
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
    ap.add_argument(
        "--profile", action="store_true", help="also list each action's callback requests (outputs, ms, kB)"
    )
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
        if args.profile:
            result["requests per action [outputs, left at ms, round trip ms, kB, answered before seen]"] = PROFILE
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
