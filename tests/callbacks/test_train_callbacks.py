"""Train tab callbacks as plain functions: a round, Table 3, confusion cell → queue, predict, pre-label,
review queues in the Label grid, and Grad-CAM."""

from __future__ import annotations

import pytest

from scatterloop.callbacks import label, train, train_review
from scatterloop.callbacks.services import make_services


def _label_all_by_truth(store):
    for img, _ in store.list_images():
        if img.source == "generated" and img.truth is not None:
            store.add_labels([img.id], "realistic" if img.truth.get("realistic") else "fake", "oracle")


def test_round_results_queue_predict_prelabel_and_explain(small_workspace, tmp_path):
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    ws = small_workspace
    simulate_dataset("rings", 8, tmp_path / "more", seed=41, size=64, artifacts="0.5")
    import_paths(ws, [tmp_path / "more"], source="generated", round=1)
    _label_all_by_truth(ws.store)
    if {s.label for s in ws.store.current_labels().values()} != {"realistic", "fake"}:
        pytest.skip("seeded candidates happen to hold one class only")
    services = make_services(ws.settings)
    shown = []
    values = dict(task="realism", models=["tiny"], epochs=1, lr=1e-4, batch=4, input_size=32, init="scratch")
    message = train.run_round(services, values, shown.append)
    assert message.startswith("Run ") and "round 1 (scratch)" in message, message
    assert shown and shown[-1][2].data, "progress carried live curves"
    assert train.run_round(services, {**values, "models": []}, shown.append) == "Pick at least one model."
    runs = len(services.store.list_runs())
    refused = train.run_round(services, {**values, "positive_cost": 0}, shown.append)
    assert refused == "Cannot train: positive_cost: expected a number above 0, got 0.0", refused
    assert len(services.store.list_runs()) == runs  # refused in the tab, not by a failed run
    note = train.weights_note(services, ["tiny"])
    assert note == "from scratch: tiny (no weights folder set: SCATTERLOOP_WEIGHTS_DIR)", note

    table, options, confusion, explain_opts = train.results(services, None)
    html = str(table)
    assert "round 1 · scratch" in html and "weighted voting" in html and "tiny" in html
    assert len(options) == 1 and len(confusion.data) == 4  # tiny + three votes
    # the results follow the task chosen above them, as the learning curve does: no pattern round here
    _table, pattern_opts, _confusion, pattern_explain = train.results(services, options[0]["value"], "pattern")
    assert pattern_opts == [] and pattern_explain == [], (pattern_opts, pattern_explain)
    assert train.results(services, None, "realism")[1] == options
    # the left column's curves follow the task chosen: this round's epochs, and none for a task without a round
    curves = train.finished_curves(services, None, "realism")
    assert [t.name for t in curves.data] == ["tiny", "tiny"] and "realism round 1" in curves.layout.title.text
    assert not train.finished_curves(services, None, "pattern").data
    # the report's Table 3 says which class precision and recall are of; its confusion matrices name their axes
    from scatterloop.core.evaluate import report

    assert "class 'realistic'" in report._metrics_by_round(ws)
    conf = report._confusion_figures(ws)[0][1]
    assert (conf.layout.xaxis.title.text, conf.layout.yaxis.title.text) == ("predicted", "true")
    run_id = options[0]["value"]
    # a confusion cell → those validation images as a queue
    heat = confusion.data[0]
    classes = list(heat.x)
    cell = max(((t, p) for t in range(2) for p in range(2)), key=lambda tp: heat.z[tp[0]][tp[1]])
    click = {"points": [{"x": classes[cell[1]], "y": classes[cell[0]], "customdata": heat.customdata[0][0]}]}
    queue, msg = train_review.confusion_queue(services, run_id, click)
    assert len(queue["ids"]) == heat.z[cell[0]][cell[1]] > 0 and msg.startswith(f"{len(queue['ids'])} images")
    cards, page_ids, count = label.render_grid(services, label.make_filter(None, None, None, None), 0, [], queue)
    assert page_ids == queue["ids"][: len(page_ids)] and count.endswith(f"of {len(queue['ids'])} · page 1/1")
    # experimental frames in a confusion cell's queue are badged "experimental", never "unlabeled" (issue 14)
    experimental = {img.id for img, _ in ws.store.list_images() if img.source == "experimental"}
    shown = 0
    for t, p in ((t, p) for t in range(2) for p in range(2) if heat.z[t][p]):
        cell_click = {"points": [{"x": classes[p], "y": classes[t], "customdata": heat.customdata[t][p]}]}
        cell_queue, _ = train_review.confusion_queue(services, run_id, cell_click)
        cell_cards, _, _ = label.render_grid(services, label.make_filter(None, None, None, None), 0, [], cell_queue)
        for card in cell_cards:
            if card.id["index"] in experimental:
                shown += 1
                assert [b.children for b in card.children[1].children[1:]] == ["experimental"], card
    assert shown, "no experimental frame in any confusion cell: the check above saw nothing"

    # new unlabeled candidates: predict, pre-label (never over a human label), review queue
    simulate_dataset("peaks", 4, tmp_path / "new", seed=78, size=64, artifacts="0.5")
    import_paths(ws, [tmp_path / "new"], source="generated", round=1)
    progress = []
    assert "4 candidates predicted" in train_review.run_predict(services, progress.append)
    q, msg = train_review.open_queue(services, "uncertain")
    assert len(q["ids"]) == 4 and "4 images" in msg
    assert "annotator" in train_review.do_prelabel(services, 0.9, "")
    first = q["ids"][0]
    services.store.add_labels([first], "fake", "ada")
    for refused in (None, 0.3, 1.5, True):  # what the browser sends for a box it finds invalid, or out of range
        assert "between 0.5 and 1" in train_review.do_prelabel(services, refused, "ada")
    now = services.store.current_labels()
    assert not any(now.get(i) and now[i].label for i in q["ids"][1:])  # nothing taken at a threshold never given
    assert "Pre-labelled 3 of 4 suggestions at confidence ≥ 0.5" in train_review.do_prelabel(services, 0.5, "ada")
    assert services.store.current_labels()[first].annotator == "ada"
    cards, _, _ = label.render_grid(services, label.make_filter(None, None, None, None), 0, [], q)
    assert "model: " in str(cards[0])
    labels = services.store.current_labels()
    rest = [img.id for img, _ in ws.store.list_images() if img.source == "generated" and not labels.get(img.id)]
    if rest:
        services.store.add_labels(rest, "fake", "ada")
    runs_before = len(services.store.list_runs(500))
    assert train_review.run_predict(services, progress.append).startswith("Nothing to predict: every candidate")
    assert len(services.store.list_runs(500)) == runs_before  # a plain answer, no failed run

    panel = train_review.explain_image(services, first, explain_opts[0]["value"])
    text = str(panel)
    assert "Grad-CAM" in text and "data:image/png;base64," in text and "tiny says" in text
    assert "not in this workspace" in train_review.explain_image(services, 99999, explain_opts[0]["value"])

    # a later round of another task: a confusion cell of the realism matrices shown still opens the realism run's
    # images (a browser review got "no model or vote named 'physics' in run 7", the pattern round)
    other = services.store.create_run("classify", {"task": "pattern"})
    services.store.update_run(
        other, status="done", result={"task": "pattern", "classes": ["background", "peaks", "rings"], "models": {}}
    )
    queue, msg = train_review.confusion_queue(services, None, click, "realism")
    assert queue is not None and queue["name"].startswith(f"run {run_id} ·"), msg


def test_the_review_buttons_follow_the_train_tabs_task_and_cards_show_its_calls(small_workspace):
    """After a labels round, Pre-label and the queue buttons worked on the labels task's calls whatever task the
    Train tab showed, and the cards of a labels queue showed no call."""
    store = small_workspace.store
    images = [img for img, _ in store.list_images()]
    exp = [img.id for img in images if img.source == "experimental"][:2]
    cand = [img.id for img in images if img.source == "generated"][:2]
    for task, classes in (("realism", ["fake", "realistic"]), ("labels", ["1", "2"])):
        run = store.create_run("classify", {})
        store.update_run(run, status="done", result={"task": task, "classes": classes})
    store.add_labels(cand, "realistic", annotator="ensemble:weighted", origin="model", confidence=0.97)
    store.add_labels(exp, "2", annotator="ensemble:weighted", origin="model", confidence=0.6)
    services = make_services(small_workspace.settings)
    q, _ = train_review.open_queue(services, "uncertain", "labels")
    assert sorted(q["ids"]) == sorted(exp)
    cards, _, _ = label.render_grid(services, label.make_filter(None, None, None, None), 0, [], q)
    assert all("model: 2 0.60" in str(card) for card in cards), cards[0]
    q, _ = train_review.open_queue(services, "uncertain", "realism")
    assert sorted(q["ids"]) == sorted(cand)
    queue, said = train_review.open_queue(services, "uncertain", "pattern")
    assert queue is None and "a pattern call is no label" in said
    assert "a pattern call is no label" in train_review.do_prelabel(services, 0.9, "ada", "pattern")
    said = train_review.do_prelabel(services, 0.9, "ada", "realism")
    assert "Pre-labelled 2 of 2 suggestions" in said, said
    now = store.current_labels()
    assert {now[i].label for i in cand} == {"realistic"} and not any(i in now for i in exp)
