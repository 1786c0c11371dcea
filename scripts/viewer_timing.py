"""Time the image viewer as a person meets it, and its server-side parts; print one JSON object.

    scatterloop serve --workspace W --port 8062 &
    python scripts/viewer_timing.py --url http://127.0.0.1:8062 --workspace W [--n 8]

Browser (headless Chromium): open the Label tab, click a card, press "Full resolution" and wait until the frame
and its caption are shown (the viewer's detail panel); then zoom (the region comes back at full resolution) and
hover (the pixel read-out). Each on `--n` different images, never the same one twice (the first view of an image
also fills its frame cache). Server side, in this process: the same steps on a 2048x2048 int32 frame imported
into a scratch workspace. Nothing here is a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scatterloop.dashboard import ids  # noqa: E402

GRAPH = f"const g = document.getElementById('{ids.VIEWER_GRAPH}'); return g && g.querySelector('.js-plotly-plot')"


def _stats(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 3), "max_s": round(max(values), 3), "n": len(values)}


def browser_timings(url: str, n: int) -> dict:
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts)
    wait = WebDriverWait(driver, 60, poll_frequency=0.02)
    out: dict[str, list[float]] = {"open_viewer": [], "zoom_full_resolution": [], "hover_readout": []}
    swallowed = 0
    try:
        driver.get(url)
        wait.until(lambda d: d.find_elements("css selector", ".sl-card"))
        for k in range(n):
            card = driver.find_elements("css selector", f"#{ids.LABEL_GRID} .sl-card")[k]
            image_id = json.loads(card.get_attribute("id"))["index"]
            card.click()
            hook = f"#{ids.LABEL_DETAIL} [id*='viewer-open'][id*='\"index\":{image_id},']"
            button = wait.until(lambda d, hook=hook: d.find_elements("css selector", hook))
            t0 = time.perf_counter()
            button[0].click()
            wait.until(
                lambda d, i=image_id: d.execute_script(
                    f"const gd = (function() {{{GRAPH}}})(); return gd && gd.layout.uirevision === 'viewer-{i}'"
                    " && gd.querySelector('image') !== null"
                )
            )
            out["open_viewer"].append(time.perf_counter() - t0)
            for attempt in range(2):  # a first zoom that brings nothing back within 5 s is counted, then retried
                t0 = time.perf_counter()
                driver.execute_script(
                    "const gd = (function() {" + GRAPH + "})();"
                    f"Plotly.relayout(gd, {{'xaxis.range': [{9.5 + attempt}, 59.5], 'yaxis.range': [59.5, 9.5]}});"
                )
                try:
                    WebDriverWait(driver, 5, poll_frequency=0.02).until(
                        lambda d, a=attempt: f"columns {10 + a}–59" in d.find_element("id", ids.VIEWER_CAPTION).text
                    )
                    out["zoom_full_resolution"].append(time.perf_counter() - t0)
                    break
                except TimeoutException:
                    swallowed += 1
            t0 = time.perf_counter()
            driver.execute_script(
                "const gd = (function() {" + GRAPH + "})();"
                f"gd.emit('plotly_hover', {{points: [{{curveNumber: 0, pointNumber: [20, {20 + k}], "
                f"x: {20 + k}, y: 20}}]}});"
            )
            wait.until(lambda d, k=k: f"row 20, col {20 + k}:" in d.find_element("id", ids.VIEWER_READOUT).text)
            out["hover_readout"].append(time.perf_counter() - t0)
            driver.find_element("css selector", f"#{ids.VIEWER_MODAL} .btn-close").click()
            wait.until(lambda d: not d.find_elements("id", ids.VIEWER_GRAPH))
    finally:
        driver.quit()
    return {**{k: _stats(v) for k, v in out.items()}, "first_zooms_without_answer_in_5s": swallowed}


def server_timings() -> dict:
    """The viewer's server work on a 2048x2048 int32 frame (Pilatus-like gaps), cold then warm."""
    from scatterloop.callbacks.services import make_services
    from scatterloop.callbacks.viewer import render_viewer
    from scatterloop.core.config import Settings
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.viewer import Window, pixel_info

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        frame = rng.poisson(20, (2048, 2048)).astype(np.int32)
        frame[:, 1000:1010] = -1
        np.save(Path(tmp) / "big.npy", frame)
        services = make_services(Settings(workspace=Path(tmp) / "ws"))
        image_id = import_paths(services.workspace, [Path(tmp) / "big.npy"]).image_ids[0]
        times = {}
        t0 = time.perf_counter()
        fig, _ = render_viewer(services, image_id, Window(), "Viridis", None)
        times["whole_frame_first_view_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fig, _ = render_viewer(services, image_id, Window(), "Viridis", None)
        times["whole_frame_cached_s"] = time.perf_counter() - t0
        times["whole_frame_json_bytes"] = len(fig.to_json())
        region = {"image": image_id, "x": [599.5, 1399.5], "y": [1399.5, 599.5]}
        t0 = time.perf_counter()
        fig, caption = render_viewer(services, image_id, Window(scale="linear"), "Viridis", region)
        times["zoom_800px_full_resolution_s"] = time.perf_counter() - t0
        assert "full resolution" in caption
        t0 = time.perf_counter()
        pixel_info(services.workspace, image_id, 1500, 700)
        times["pixel_lookup_s"] = time.perf_counter() - t0
        services.store.dispose()
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=8)
    args = ap.parse_args()
    result = {"browser_demo_workspace": browser_timings(args.url, args.n), "server_2048px": server_timings()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
