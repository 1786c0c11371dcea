"""Labels the round's models doubt out of sample: a person's slips are listed, left out of calibration, and
queued for a second look until a person has labelled them again."""

from __future__ import annotations

import numpy as np
import pytest


def test_doubted_takes_the_lowest_chances_below_the_threshold_and_at_most_a_tenth():
    from scatterloop.core.classify.doubt import doubted

    y = np.zeros(30, int)
    p = np.full((2, 30, 2), 0.0)
    p[:, :, 0] = 0.95  # both models agree with every label...
    p[:, [4, 9, 17], 0] = [[0.05, 0.02, 0.08], [0.07, 0.04, 0.2]]  # ...but these three
    p[:, :, 1] = 1 - p[:, :, 0]
    assert doubted(p, y).tolist() == [9, 4]  # most doubted first (0.03, 0.06); 17's 0.14 is no doubt
    p[:, 17, 0] = 0.01
    p[:, 17, 1] = 0.99
    p[:, 9, 0], p[:, 9, 1] = 0.03, 0.97
    p[:, 4, 0], p[:, 4, 1] = 0.05, 0.95
    assert doubted(p, y).tolist() == [17, 9, 4]
    assert doubted(p, y, max_share=0.05).tolist() == [17, 9]  # never more than a person plausibly gets wrong
    assert doubted(p[:, :0], y[:0]).tolist() == []


@pytest.fixture
def labelled_with_slips(workspace, tmp_path, monkeypatch):
    """60 candidates whose physics features say plainly which are fake (a third of them 5 sigma off, as an
    artifact moves many), labelled by a person who slipped on four of them."""
    from scatterloop.core.classify.data import assemble

    from .feature_rounds import candidates_with_features, use_features

    imgs, fake, feats, rng = candidates_with_features(workspace, tmp_path / "cand", 60, 5.0, sim_seed=3, seed=0)
    for img in imgs:
        workspace.store.add_labels([img.id], "fake" if fake[img.id] else "realistic", "annotator")
    # the task's validation set is fixed at its first use; two slips land in it, two in training
    val = set(assemble(workspace.store, "realism").val_ids)
    slips = set(sorted(val)[:2]) | set(sorted(i.id for i in imgs if i.id not in val)[3:5])
    for i in slips:
        workspace.store.add_labels([i], "realistic" if fake[i] else "fake", "annotator")
    use_features(monkeypatch, feats, rng)
    return workspace, slips


def _round(ws):
    from scatterloop.core.classify import RoundParams, train_round
    from scatterloop.core.jobs import run_job

    run_id, res = run_job(ws.store, "classify", {}, lambda run_id, progress, should_stop: train_round(
        ws, RoundParams(), run_id=run_id))  # fmt: skip
    return res


def test_a_round_lists_the_persons_slips_and_calibrates_without_them(labelled_with_slips, monkeypatch):
    from scatterloop.core.classify import doubt

    ws, slips = labelled_with_slips
    res = _round(ws)
    found = {d["id"] for d in res.doubted}
    assert found == slips, res.doubted  # every slip, and no label the person got right
    assert all(d["chance"] < doubt.DOUBT for d in res.doubted)
    assert {d["set"] for d in res.doubted} <= {"training", "validation"}
    chances = [d["chance"] for d in res.doubted]
    assert chances == sorted(chances)
    # the slips in the validation set are left out of the temperature fit: with them in, every probability is
    # softened (a higher temperature) to explain them
    assert len([d for d in res.doubted if d["set"] == "validation"]) == 2
    monkeypatch.setattr(doubt, "DOUBT", 0.0)
    res_all = _round(ws)
    assert res_all.models["physics"]["temperature"] > res.models["physics"]["temperature"]


def test_the_saved_models_are_refitted_without_the_doubted_labels(labelled_with_slips, monkeypatch):
    """Prune and refit: the models the round saves learn from every label but the doubted ones, so a slip
    does not pull them towards itself; the labels themselves stay as the person gave them."""
    import torch

    from scatterloop.core.classify import doubt, rounds
    from scatterloop.core.classify.registry import load_classifier

    ws, slips = labelled_with_slips
    given = {i: s.label for i, s in ws.store.current_labels(slips).items()}

    def chance_of_given_labels(res):
        out = {}
        for arch in ("physics", "physics_forest"):
            model, cfg = load_classifier(ws.root / res.models[arch]["checkpoint"])
            rows = torch.as_tensor(rounds.feature_inputs(ws, ws.store.get_images(sorted(slips)), [])[0])
            with torch.no_grad():
                p = torch.softmax(model(rows).double() / cfg.temperature, 1).numpy()
            out[arch] = [p[k, cfg.classes.index(given[i])] for k, i in enumerate(sorted(slips))]
        return out

    res = _round(ws)
    n = len(res.sets["train_ids"]) + len(res.sets["val_ids"])
    for arch in ("physics", "physics_forest"):
        assert res.models[arch]["final_fit_left_out"] == len(slips)
        assert res.models[arch]["final_fit_on"] == n - len(slips)
    pruned = chance_of_given_labels(res)
    monkeypatch.setattr(doubt, "DOUBT", 0.0)  # nothing doubted: the refit learns the slips too
    res_all = _round(ws)
    assert res_all.models["physics"]["final_fit_left_out"] == 0
    learned = chance_of_given_labels(res_all)
    for arch in pruned:
        assert np.mean(pruned[arch]) < np.mean(learned[arch]), (arch, pruned[arch], learned[arch])
    assert {i: s.label for i, s in ws.store.current_labels(slips).items()} == given


def test_the_doubted_queue_drops_a_label_once_a_person_has_given_it_again(labelled_with_slips):
    from scatterloop.core.classify import review_queue

    ws, slips = labelled_with_slips
    res = _round(ws)
    queue = review_queue(ws.store, "doubted")
    assert queue == [d["id"] for d in res.doubted] and set(queue) == slips
    first, second, *_ = queue
    labels = ws.store.current_labels([first, second])
    ws.store.add_labels([first], "fake" if labels[first].label == "realistic" else "realistic", "annotator")
    ws.store.add_labels([second], labels[second].label, "annotator")  # looked again and kept it
    assert review_queue(ws.store, "doubted") == queue[2:]


def test_the_train_tab_opens_the_doubted_labels_in_the_label_grid(labelled_with_slips):
    from scatterloop.callbacks import label, train, train_review
    from scatterloop.callbacks.services import make_services

    ws, slips = labelled_with_slips
    services = make_services(ws.settings)
    queue, message = train_review.open_queue(services, "doubted")
    assert queue is None and message.startswith("No doubted labels")  # no round yet
    res = _round(ws)
    queue, message = train_review.open_queue(services, "doubted")
    assert set(queue["ids"]) == slips and "doubted" in queue["name"] and message.startswith(f"{len(slips)} images")
    cards, page_ids, _ = label.render_grid(services, label.make_filter(None, None, None, None), 0, [], queue)
    assert page_ids == queue["ids"]
    assert "doubt 4 labels" in train._doubted_line([{"id": d["id"]} for d in res.doubted])
    assert train._doubted_line([]) == ""
