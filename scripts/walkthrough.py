"""Drive a running scatterloop server in headless Chromium the way a person would, and keep screenshots.

    scatterloop demo --workspace W --no-serve && scatterloop serve --workspace W --port 8061 &
    python scripts/walkthrough.py --url http://127.0.0.1:8061 --workspace W --out shots --steps generate,rounds

`generate`: train the `cpu` preset from the Generate tab, then generate 100 images of each pattern there, and
look at them in Label (with provenance) and Explore. `rounds`: label candidates in the Label tab (the script
knows the simulator's truth and plays an annotator who errs `--error-rate` of the time), run round 1 in the
Train tab, predict, open the review queue, correct it, label ten times more, run round 2 from scratch and
fine-tuned, and keep the Table 3 view. Nothing here is a test: it is how the README's screenshots were made.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scatterloop.dashboard import ids  # noqa: E402


class Walk:
    def __init__(self, url: str, out: Path):
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1100"):
            opts.add_argument(arg)
        self.d = webdriver.Chrome(options=opts)
        self.d.get(url)
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.wait_for(lambda: self.d.find_elements(By.CSS_SELECTOR, ".sl-card"), 60)

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def wait_for(self, cond, timeout: float = 30):
        return WebDriverWait(self.d, timeout, poll_frequency=1.0).until(lambda _d: cond())

    def el(self, component_id: str):
        return self.d.find_element(By.ID, component_id)

    def click(self, component_id: str) -> None:
        self.d.execute_script(
            "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", self.el(component_id)
        )

    def type(self, component_id: str, value) -> None:
        box = self.el(component_id)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(value))
        box.send_keys(Keys.TAB)

    def choose(self, component_id: str, text: str) -> None:
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", self.el(component_id))
        self.el(component_id).click()
        self.wait_for(lambda: self.d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"), 10)
        for option in self.d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
            if option.text.strip() == text:
                option.click()
                time.sleep(0.5)
                self.d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close the menu
                return
        raise RuntimeError(f"{component_id}: no option {text!r}")

    def tab(self, name: str) -> None:
        for link in self.d.find_elements(By.CSS_SELECTOR, ".nav-link"):
            if link.text == name:
                link.click()
        time.sleep(1.0)

    def text_of(self, component_id: str) -> str:
        return self.el(component_id).text

    def wait_text(self, component_id: str, needle: str, timeout: float) -> str:
        self.wait_for(lambda: needle in self.text_of(component_id), timeout)
        return self.text_of(component_id)

    def shot(self, name: str) -> None:
        self.d.execute_script("window.scrollTo(0, 0)")
        self.d.save_screenshot(str(self.out / f"{name}.png"))
        self.log(f"screenshot {name}.png")


def step_generate(w: Walk, store, steps: int | None, patterns: list[str] | None = None) -> None:
    w.tab("Generate")
    if steps != 0:  # 0: the workspace already has a generator trained from this tab
        if steps:
            w.type(ids.GEN_TRAIN_STEPS_INPUT, steps)
        w.click(ids.GEN_TRAIN_BUTTON)
        w.log("training the cpu preset from the Generate tab")
        msg = w.wait_text(ids.GEN_TRAIN_STATUS, "checkpoint", 60 * 60)
        w.log(msg)
        w.shot("generate-trained")
    for pattern in patterns or store.distinct("pattern"):
        if pattern == "speckle":
            continue
        w.choose(ids.GEN_PATTERN_SELECT, pattern)
        w.type(ids.GEN_COUNT_INPUT, 100)
        before = w.text_of(ids.GEN_STATUS)
        w.click(ids.GEN_RUN_BUTTON)
        w.wait_for(lambda b=before: w.text_of(ids.GEN_STATUS) != b and "registered" in w.text_of(ids.GEN_STATUS), 1800)
        msg = w.text_of(ids.GEN_STATUS)
        w.log(f"{pattern}: {msg}")
        w.shot(f"generate-{pattern}")
        time.sleep(2)
    step_provenance(w, store)


def step_provenance(w: Walk, store) -> None:
    """The Label tab on the last page of generated candidates: the newest one's detail with its provenance."""
    import re

    w.tab("Label")
    w.choose(ids.LABEL_SOURCE_FILTER, "generated")
    time.sleep(2)
    while True:
        text = w.text_of(ids.LABEL_COUNT)
        page, last = map(int, re.search(r"page (\d+)/(\d+)", text).groups())
        if page == last:
            break
        w.click(ids.LABEL_NEXT_BUTTON)
        w.wait_for(lambda t=text: w.text_of(ids.LABEL_COUNT) != t, 10)
    cards = w.d.find_elements(By.CSS_SELECTOR, GRID_CARDS)
    w.d.execute_script("arguments[0].click()", cards[-1])
    w.log(w.wait_text(ids.LABEL_DETAIL, "checkpoint", 20).replace("\n", " | ")[:300])
    w.shot("label-generated")
    w.d.execute_script("arguments[0].click()", cards[-1])  # deselect again


GRID_CARDS = f"#{ids.LABEL_GRID} .sl-card"  # the Label grid's cards (galleries of other tabs have cards too)


def _label_cards(w: Walk, wanted: dict[int, str]) -> int:
    """Select the cards on this page whose ids are in `wanted`, label by class with the buttons."""
    done = 0
    for label, key in (("realistic", "1"), ("fake", "2")):
        clicked = 0
        for card in w.d.find_elements(By.CSS_SELECTOR, GRID_CARDS):
            image_id = int(card.get_attribute("title").split()[-1])
            if wanted.get(image_id) == label:
                w.d.execute_script("arguments[0].click()", card)
                clicked += 1
        if clicked:
            w.wait_for(lambda c=clicked: len(w.d.find_elements(By.CSS_SELECTOR, GRID_CARDS + ".selected")) == c, 10)
            w.d.execute_script("arguments[0].click()", w.d.find_element(By.CSS_SELECTOR, f'[data-shortcut^="{key}"]'))
            w.wait_text(ids.LABEL_STATUS, f"Labelled {clicked} image(s) '{label}'", 20)
            done += clicked
            time.sleep(0.5)
    return done


def step_rounds(w: Walk, store, n: int, error_rate: float, models: list[str], epochs: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    judged = {}
    for img, _ in store.list_images():
        if img.source == "generated" and img.truth is not None:
            truth = "realistic" if img.truth.get("realistic") else "fake"
            flip = rng.random() < error_rate
            judged[img.id] = truth if not flip else ("fake" if truth == "realistic" else "realistic")
    pool = sorted(judged)
    rng.shuffle(pool)
    w.tab("Label")
    box = w.el(ids.ANNOTATOR_INPUT)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("walkthrough", Keys.TAB)

    def label_in_ui(image_ids: list[int]) -> None:
        import re

        want = {i: judged[i] for i in image_ids}
        w.choose(ids.LABEL_SOURCE_FILTER, "generated")
        time.sleep(1.5)
        while not w.text_of(ids.LABEL_COUNT).startswith("1–"):  # from the first page
            before = w.text_of(ids.LABEL_COUNT)
            w.click(ids.LABEL_PREV_BUTTON)
            w.wait_for(lambda b=before: w.text_of(ids.LABEL_COUNT) != b, 10)
        labelled = 0
        while True:
            current = store.current_labels()
            labelled += _label_cards(w, {i: lab for i, lab in want.items() if i not in current})
            before = w.text_of(ids.LABEL_COUNT)
            page, last = map(int, re.search(r"page (\d+)/(\d+)", before).groups())
            if labelled >= len(want) or page == last:
                break
            w.click(ids.LABEL_NEXT_BUTTON)
            w.wait_for(lambda b=before: w.text_of(ids.LABEL_COUNT) != b, 10)
        w.log(f"labelled {labelled} images in the Label tab")

    label_in_ui(pool[:n])
    w.shot("rounds-labelled")
    w.tab("Train")
    for box in w.d.find_elements(By.CSS_SELECTOR, f"#{ids.TRAIN_MODELS_CHECKLIST} input"):
        value = box.get_attribute("value")
        if box.is_selected() != (value in models):
            w.d.execute_script("arguments[0].click()", box)
    w.type(ids.TRAIN_EPOCHS_INPUT, epochs)

    def train(init: str, next_round: bool) -> str:
        radios = w.d.find_elements(By.CSS_SELECTOR, f"#{ids.TRAIN_INIT_RADIO} input")
        w.d.execute_script("arguments[0].click()", radios[0 if init == "scratch" else 1])
        switch = w.el(ids.TRAIN_NEXT_ROUND_SWITCH)
        if switch.is_selected() != next_round:
            w.d.execute_script("arguments[0].click()", switch)
        before = w.text_of(ids.TRAIN_STATUS)
        w.click(ids.TRAIN_RUN_BUTTON)
        w.wait_for(
            lambda b=before: w.text_of(ids.TRAIN_STATUS) != b and "Best vote" in w.text_of(ids.TRAIN_STATUS), 3600
        )
        msg = w.text_of(ids.TRAIN_STATUS)
        w.log(msg)
        return msg

    train("scratch", False)
    w.shot("train-round1")
    w.click(ids.TRAIN_PREDICT_BUTTON)
    w.log(w.wait_text(ids.TRAIN_REVIEW_STATUS, "candidates predicted", 30 * 60))
    w.click(ids.TRAIN_REVIEW_UNCERTAIN_BUTTON)
    w.wait_text(ids.LABEL_QUEUE_BANNER, "Review queue", 30)
    time.sleep(2)
    w.shot("review-queue")
    # correct the first page of the queue: each image gets the annotator's own judgement
    on_page = [int(c.get_attribute("title").split()[-1]) for c in w.d.find_elements(By.CSS_SELECTOR, GRID_CARDS)]
    corrected = _label_cards(w, {i: judged[i] for i in on_page if i in judged})
    w.log(f"reviewed {corrected} queued images")
    w.click(ids.LABEL_QUEUE_CLEAR_BUTTON)
    time.sleep(1)
    label_in_ui(pool[n : 10 * n])
    w.tab("Train")
    train("scratch", True)
    train("finetune", False)
    time.sleep(3)
    w.shot("train-round2")


def step_explore(w: Walk) -> None:
    """Build the map from the Explore tab, then open the newest generated image's detail (its provenance)."""
    w.tab("Explore")
    w.click(ids.EXPLORE_BUILD_BUTTON)
    w.log(w.wait_text(ids.EXPLORE_JOB_STATUS, "Map of", 40 * 60))
    time.sleep(3)
    w.shot("explore-map")
    w.d.execute_script(
        f"""const gd = document.getElementById('{ids.EXPLORE_GRAPH}').querySelector('.js-plotly-plot');
        let best = null;
        gd.data.forEach((t, c) => {{ if ((t.name || '').startsWith('unlabeled') && (t.x || []).length) {{
            const i = t.x.length - 1;
            best = {{curveNumber: c, pointNumber: i, pointIndex: i, x: t.x[i], y: t.y[i]}}; }} }});
        if (best) gd.emit('plotly_click', {{points: [best]}});"""
    )
    w.log(w.wait_text(ids.EXPLORE_POLAR_TEXT, "symmetry", 120))
    time.sleep(2)
    w.shot("explore-generated-detail")


def step_evaluate(w: Walk) -> None:
    """Evaluate from the Evaluate tab, then write the report and open it."""
    w.tab("Evaluate")
    w.click(ids.EVAL_RUN_BUTTON)
    w.log(w.wait_text(ids.EVAL_STATUS, "Evaluation run", 60 * 60))
    w.wait_for(lambda: w.d.find_elements(By.CSS_SELECTOR, ".sl-polar-warp"), 120)
    time.sleep(3)
    w.shot("evaluate-tab")
    w.click(ids.EVAL_REPORT_BUTTON)
    w.log(w.wait_text(ids.EVAL_REPORT_STATUS, "opens offline", 10 * 60))
    link = w.d.find_element(By.CSS_SELECTOR, f"#{ids.EVAL_REPORT_STATUS} a").get_attribute("href")
    w.d.get(link)
    w.wait_for(lambda: w.d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"), 60)
    w.shot("report")


def main() -> int:
    from scatterloop.core.config import Settings
    from scatterloop.core.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8061")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--out", default="walkthrough")
    parser.add_argument("--steps", default="generate,rounds")
    parser.add_argument(
        "--train-steps", type=int, default=None, help="generate: override the preset's steps (0: do not train)"
    )
    parser.add_argument("--patterns", default=None, help="generate: which patterns (default: all but speckle)")
    parser.add_argument("--n", type=int, default=30, help="rounds: labels in round 1 (round 2 has 10 times more)")
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--models", default="resnet18,squeezenet,alexnet")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    store = Store(Settings(workspace=Path(args.workspace)).db_url)
    w = Walk(args.url, Path(args.out))
    try:
        if "generate" in args.steps:
            step_generate(w, store, args.train_steps, args.patterns.split(",") if args.patterns else None)
        if "provenance" in args.steps:
            step_provenance(w, store)
        if "rounds" in args.steps:
            step_rounds(w, store, args.n, args.error_rate, args.models.split(","), args.epochs)
        if "explore" in args.steps:
            step_explore(w)
        if "evaluate" in args.steps:
            step_evaluate(w)
        logs = [e for e in w.d.get_log("browser") if e.get("level") == "SEVERE"]
        w.log(f"browser console errors: {len(logs)}")
    finally:
        w.d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
