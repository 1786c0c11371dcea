"""Issue 10's walkthrough in headless Chromium, end to end on the default recipe.

(a) Simulated experimental frames and candidates with truth: label 30 candidates in the Label tab (cards visibly
selected, then the label buttons), train round 1 with the default recipe (`ours`, the physics models) from the
Train tab, predict, pre-label at the default threshold, open the uncertain queue in Label and see the learning
curve's point for the round. (b) Real frames imported as experimental, a pattern classifier trained on
simulated frames predicts their pattern, and the Label tab's predicted-pattern filter shows exactly those images.
Pages follow the run records; the test waits on run status in the store, never on fixed sleeps.
"""

from __future__ import annotations

import shutil

import pytest

from scatterloop.dashboard import ids
from scatterloop.dashboard.app import create_app
from tests.browser.test_label_browser import _css_id, _set_annotator, _wait
from tests.browser.test_train_browser import _click
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

GRID = f"{_css_id(ids.LABEL_GRID)} .sl-card"
RUN_TIMEOUT = 600  # a busy 2-core machine: runs wait for a worker process and share the cores


def _truth(img) -> str:
    return "realistic" if img.truth.get("realistic") else "fake"


def _shot(dash_duo, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENSHOTS / name))


def _tab(dash_duo, name: str) -> None:
    """Open a tab wherever the page is scrolled (a scrolled-down grid puts other elements over the nav links)."""
    links = [link for link in dash_duo.find_elements(".nav-link") if link.text == name]
    assert links, f"no {name} tab"
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", links[0])


def _card_ids(dash_duo) -> set[int] | None:
    """The image ids of the grid's cards; None while the grid is being redrawn under us."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return {int(c.get_attribute("title").split()[-1]) for c in dash_duo.find_elements(GRID)}
    except StaleElementReferenceException:
        return None


def _runs_done(store, kind: str) -> list:
    return [r for r in store.list_runs(1000) if r.kind == kind and r.status == "done"]


def _wait_run(dash_duo, store, kind: str, count: int) -> None:
    """Wait until `count` runs of `kind` are done in the store; fail at once if one failed or was cancelled."""

    def ended() -> bool:
        runs = [r for r in store.list_runs(1000) if r.kind == kind]
        bad = [r for r in runs if r.status not in ("queued", "running", "done")]
        assert not bad, f"{kind} run {bad[0].id} ended {bad[0].status}: {bad[0].message}"
        return len([r for r in runs if r.status == "done"]) >= count

    _wait(dash_duo, ended, RUN_TIMEOUT)


def _label_selected(dash_duo, image_ids: list[int], key: str, label: str) -> None:
    """Click each card (visibly selected), then press the label button `key`."""
    for i in image_ids:
        card = dash_duo.find_element(f'{GRID}[title="image {i}"]')
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", card)
    _wait(dash_duo, lambda: _selected(dash_duo) == set(image_ids))
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.find_element(f'[data-shortcut^="{key}"]'))
    dash_duo.wait_for_contains_text(
        _css_id(ids.LABEL_STATUS), f"Labelled {len(image_ids)} image(s) '{label}'", timeout=30
    )


def _selected(dash_duo) -> set[int]:
    return {int(c.get_attribute("title").split()[-1]) for c in dash_duo.find_elements(GRID + ".selected")}


@pytest.fixture
def loop_workspace(workspace, tmp_path):
    """40 experimental frames and 60 candidates (with truth) at 64 px."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    patterns = ("rings", "peaks", "background")
    for i, pattern in enumerate(patterns):
        simulate_dataset(pattern, 14 if i < 2 else 12, tmp_path / "exp", seed=i, size=64)
        simulate_dataset(pattern, 20, tmp_path / "cand", seed=10 + i, size=64, artifacts="0.5")
    import_paths(workspace, [tmp_path / "exp"], source="experimental")
    import_paths(workspace, [tmp_path / "cand"], source="generated", round=workspace.store.current_round())
    return workspace


def test_label_train_predict_prelabel_review_in_the_browser(dash_duo, loop_workspace):
    ws, store = loop_workspace, loop_workspace.store
    candidates = [img for img, _ in store.list_images() if img.source == "generated"]
    assert len(candidates) == 60 and len([1 for img, _ in store.list_images() if img.source == "experimental"]) == 40
    to_label = candidates[::2]  # every pattern
    by_truth = {t: [img.id for img in to_label if _truth(img) == t] for t in ("realistic", "fake")}
    assert all(by_truth.values()), "the seeded candidates hold one class only"

    dash_duo.start_server(create_app(ws.settings.with_(page_size=64)))
    dash_duo.wait_for_element(".sl-card", timeout=30)
    _set_annotator(dash_duo, "ada")
    dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_SOURCE_FILTER), "generated")
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "of 60", timeout=20)
    _wait(dash_duo, lambda: _card_ids(dash_duo) == {img.id for img in candidates}, 20)

    # label 30 candidates: the realistic ones, then the fake ones, each class selected visibly first
    half = by_truth["realistic"][:4]
    _label_selected(dash_duo, half, "1", "realistic")
    _shot(dash_duo, "walk-labelled-first.png")
    rest = [i for i in by_truth["realistic"] if i not in half]
    if rest:
        _label_selected(dash_duo, rest, "1", "realistic")
    _label_selected(dash_duo, by_truth["fake"], "2", "fake")
    human = {i: s for i, s in store.current_labels().items() if s.label}
    assert set(human) == {img.id for img in to_label}
    assert all(human[img.id].label == _truth(img) and human[img.id].annotator == "ada" for img in to_label)
    _shot(dash_duo, "walk-labelled-30.png")

    # train round 1 with the tab's defaults: the `ours` recipe, both physics models, blank fields
    _tab(dash_duo, "Train")
    dash_duo.wait_for_element(_css_id(ids.TRAIN_MODELS_CHECKLIST))
    boxes = dash_duo.find_elements(f"{_css_id(ids.TRAIN_MODELS_CHECKLIST)} input")
    ticked = [b.get_attribute("value") for b in boxes if b.is_selected()]
    assert ticked == ["physics", "physics_forest"]
    _click(dash_duo, ids.TRAIN_RUN_BUTTON)
    _wait_run(dash_duo, store, "classify", 1)
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_STATUS), "round 1 (scratch)", timeout=60)
    run = _runs_done(store, "classify")[0]
    assert run.result["task"] == "realism" and list(run.result["models"]) == ["physics", "physics_forest"]
    assert run.result["recipe"]["name"] == "ours"

    # the learning curve: a point for round 1 (physics and the votes, accuracy and precision)
    graph = _css_id(ids.TRAIN_LEARNING_GRAPH)
    dash_duo.wait_for_contains_text(graph, "realism task", timeout=30)
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"{graph} .scatterlayer .trace")) >= 2, 30)
    traces = dash_duo.find_elements(f"{graph} .scatterlayer .trace")
    assert len(dash_duo.find_elements(f"{graph} .scatterlayer .trace .point")) == len(traces)  # one per trace
    assert "physics" in dash_duo.find_element(f"{graph} .legend").text
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", dash_duo.find_element(graph))
    _shot(dash_duo, "walk-learning-curve.png")

    # predict the 30 unlabeled candidates
    _click(dash_duo, ids.TRAIN_PREDICT_BUTTON)
    _wait_run(dash_duo, store, "predict", 1)
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_REVIEW_STATUS), "30 candidates predicted", timeout=60)
    sugg = store.model_suggestions("ensemble:weighted")
    assert set(sugg) == {img.id for img in candidates[1::2]}

    # `classify predict --images source=generated`: suggestions on the 30 human-labelled candidates too, so
    # pre-labelling has human labels it must leave alone
    from scatterloop.core.classify.predict import predict_images
    from scatterloop.core.jobs import run_job

    labelled_ids = [img.id for img in to_label]
    run_job(
        store,
        "predict",
        {"classify_run": run.id, "scheme": "weighted", "images": "ids", "count": len(labelled_ids)},
        lambda run_id, progress, should_stop: predict_images(ws, run.id, labelled_ids, run_id=run_id),
    )
    sugg = store.model_suggestions("ensemble:weighted")
    assert set(sugg) == {img.id for img in candidates}

    # pre-label at the default threshold: the confident suggestions, never over a human label
    threshold = float(dash_duo.find_element(_css_id(ids.TRAIN_THRESHOLD_INPUT)).get_attribute("value"))
    assert threshold == 0.9
    _click(dash_duo, ids.TRAIN_PRELABEL_BUTTON)
    dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_REVIEW_STATUS), "Pre-labelled", timeout=30)
    status = dash_duo.find_element(_css_id(ids.TRAIN_REVIEW_STATUS)).text
    confident = {i for i, (lab, conf) in sugg.items() if lab and conf is not None and conf >= threshold}
    labels = store.current_labels()
    for img in to_label:  # the human labels stand, whatever the model says
        assert labels[img.id].label == _truth(img) and labels[img.id].annotator == "ada"
    pre = {i for i, s in labels.items() if s.label and "pre-label" in (s.annotator or "")}
    assert pre == confident - set(labelled_ids)
    assert all(labels[i].label == sugg[i][0] for i in pre)
    assert f"Pre-labelled {len(pre)} of {len(confident)} suggestions at confidence ≥ 0.9 (60 in all)" in status
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'})", dash_duo.find_element(_css_id(ids.TRAIN_REVIEW_STATUS))
    )
    _shot(dash_duo, "walk-prelabelled.png")

    # the uncertain queue in Label: unlabeled and pre-labelled suggestions, least confident first
    _click(dash_duo, ids.TRAIN_REVIEW_UNCERTAIN_BUTTON)
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_QUEUE_BANNER), "Review queue", timeout=30)
    queue = {i for i in sugg if i not in labels or not labels[i].label or i in pre}
    _wait(dash_duo, lambda: _card_ids(dash_duo) == queue, 30)
    assert "model:" in dash_duo.find_element(GRID).text
    _shot(dash_duo, "walk-review-queue.png")

    # the labels the round's models doubted out of sample open the same way (none: the line says so)
    from scatterloop.core.classify import review_queue

    doubted = review_queue(store, "doubted")
    _tab(dash_duo, "Train")
    _click(dash_duo, ids.TRAIN_REVIEW_DOUBTED_BUTTON)
    if doubted:
        dash_duo.wait_for_contains_text(_css_id(ids.LABEL_QUEUE_BANNER), "doubted", timeout=30)
        _wait(dash_duo, lambda: _card_ids(dash_duo) == set(doubted), 30)
    else:
        dash_duo.wait_for_contains_text(_css_id(ids.TRAIN_REVIEW_STATUS), "No doubted labels", timeout=30)
    assert dash_duo.get_logs() == []


def test_real_frames_filtered_by_predicted_pattern(dash_duo, workspace, realdata, tmp_path):
    from scatterloop.core.classify.jobs import run_round
    from scatterloop.core.classify.predict import pattern_suggestions, predict_images
    from scatterloop.core.classify.rounds import RoundParams
    from scatterloop.core.classify.select import parse_selection, select_images
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.jobs import run_job
    from scatterloop.core.simulate import simulate_dataset

    ws, store = workspace, workspace.store
    real = tmp_path / "real"
    real.mkdir()
    for rel in ("peaks/silx-training/medipix.edf", "rings/als/24002.png", "diffuse/als/24003.png"):
        shutil.copy(realdata / rel, real / rel.replace("/", "_"))
    import_paths(ws, [real], source="experimental")
    real_ids = select_images(store, parse_selection(["source=experimental"]))
    assert len(real_ids) == 3

    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, 8, tmp_path / "sim", seed=30 + i, size=64)
    import_paths(ws, [tmp_path / "sim"], source="simulated")
    params = RoundParams(task="pattern", sources=("simulated",), models=("physics",))
    train_run, res = run_round(ws, params)
    assert res is not None and set(res.classes) >= {"rings", "peaks", "background"}

    # `classify predict --images source=experimental`: the real frames through the round's models
    sel = parse_selection(["source=experimental"])
    chosen = select_images(store, sel)
    run_job(
        store,
        "predict",
        {"classify_run": train_run, "scheme": "weighted", "images": sel.describe(), "count": len(chosen)},
        lambda run_id, progress, should_stop: predict_images(
            ws, train_run, chosen, run_id=run_id, selection=sel.describe(), progress=progress, should_stop=should_stop
        ),
    )
    _, sugg = pattern_suggestions(store)
    assert set(sugg) == set(real_ids)
    predicted = {i: sugg[i][0] for i in real_ids}

    dash_duo.start_server(create_app(ws.settings.with_(page_size=48)))
    dash_duo.wait_for_element(".sl-card", timeout=30)
    dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), "of 27", timeout=20)
    for pattern in sorted(set(predicted.values())):
        want = {i for i, p in predicted.items() if p == pattern}
        dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_PREDICTED_FILTER), f"predicted: {pattern}")
        dash_duo.wait_for_contains_text(_css_id(ids.LABEL_COUNT), f"of {len(want)}", timeout=20)
        _wait(dash_duo, lambda w=want: _card_ids(dash_duo) == w, 20)
        _shot(dash_duo, f"walk-predicted-{pattern}.png")
    for pattern in sorted(set(res.classes) - set(predicted.values())):  # a class no frame got: an empty grid
        dash_duo.select_dcc_dropdown(_css_id(ids.LABEL_PREDICTED_FILTER), f"predicted: {pattern}")
        _wait(dash_duo, lambda: _card_ids(dash_duo) == set(), 20)
        dash_duo.wait_for_text_to_equal(_css_id(ids.LABEL_COUNT), "no images match", timeout=20)
        _shot(dash_duo, f"walk-predicted-{pattern}.png")
    assert dash_duo.get_logs() == []
