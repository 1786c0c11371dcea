"""Decisions of least expected cost: a recipe may price a false "realistic" call above a missed one, and the
round, its tables, prediction and pre-labelling all decide by the rule the round recorded."""

from __future__ import annotations

import numpy as np
import pytest


def test_decide_is_the_arg_max_at_equal_costs_and_moves_the_threshold_with_the_cost():
    from scatterloop.core.classify.voting import decide, decision_costs, decision_record, positive_threshold

    classes = ["fake", "realistic"]
    p_real = np.array([0.2, 0.5, 0.6, 0.74, 0.76, 0.9])
    probs = np.stack([1 - p_real, p_real], 1)
    assert decide(probs).tolist() == probs.argmax(1).tolist() == [0, 0, 1, 1, 1, 1]  # ties: the lower index
    costs = decision_costs(classes, "realistic", 3.0)
    assert costs.tolist() == [1.0, 3.0] and positive_threshold(costs, 1) == 0.75
    assert decide(probs, costs).tolist() == [0, 0, 0, 0, 1, 1]
    assert decide(probs, decision_costs(classes, "realistic", 1.0)).tolist() == decide(probs).tolist()
    # a cheaper false call lowers the threshold: 0.5 / 1.5 = 1/3
    assert decide(probs, decision_costs(classes, "realistic", 0.5)).tolist() == [0, 1, 1, 1, 1, 1]
    # three classes: the class of least expected cost, not the most probable
    three = np.array([[0.45, 0.40, 0.15]])
    assert decide(three).tolist() == [0]
    assert decide(three, np.array([2.0, 1.0, 1.0])).tolist() == [1]  # 2 x 0.55 > 1 x 0.60
    rec = decision_record(classes, "realistic", 3.0)
    assert rec["threshold"] == 0.75 and rec["costs"] == {"fake": 1.0, "realistic": 3.0}
    assert decision_record(["rings", "peaks", "background"], None)["threshold"] is None
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive_cost"):
            decision_costs(classes, "realistic", bad)
    with pytest.raises(ValueError, match="one per class"):
        decide(probs, np.array([1.0, 2.0, 3.0]))


def test_hard_vote_counts_each_models_decision_at_the_cost():
    from scatterloop.core.classify.voting import decision_costs, hard_vote

    p_real = np.array([[0.7, 0.9], [0.7, 0.2], [0.6, 0.8]])  # three models, two images
    probs = np.stack([1 - p_real, p_real], 2)
    assert hard_vote(probs).tolist() == [1, 1]
    # above 0.75 only the 0.9 and 0.8 calls say realistic: image 0 is called fake, image 1 realistic
    assert hard_vote(probs, decision_costs(["fake", "realistic"], "realistic", 3.0)).tolist() == [0, 1]
    # a tied vote goes the way the costs send the mean: 0.8 and 0.6 average 0.7, called fake above 0.75
    tied = np.stack([1 - np.array([[0.8], [0.6]]), np.array([[0.8], [0.6]])], 2)
    assert hard_vote(tied).tolist() == [1]
    assert hard_vote(tied, decision_costs(["fake", "realistic"], "realistic", 1.5)).tolist() == [1]  # above 0.6
    assert hard_vote(tied, decision_costs(["fake", "realistic"], "realistic", 3.0)).tolist() == [0]


@pytest.fixture
def overlapping(workspace, tmp_path, monkeypatch):
    """60 labelled candidates whose physics features overlap (so many calls are in doubt) and 20 unlabeled."""
    from .feature_rounds import candidates_with_features, use_features

    cands = candidates_with_features(workspace, tmp_path / "cand", 80, 0.8, sim_seed=5, seed=1, size=48)
    imgs, fake, feats, rng = cands
    for img in imgs[:60]:
        workspace.store.add_labels([img.id], "fake" if fake[img.id] else "realistic", "annotator")
    use_features(monkeypatch, feats, rng)
    return workspace, imgs[60:]


def _round(ws, **params):
    from scatterloop.core.classify import RoundParams, train_round
    from scatterloop.core.jobs import run_job

    run_id, res = run_job(ws.store, "classify", {}, lambda run_id, progress, should_stop: train_round(
        ws, RoundParams(**params), run_id=run_id))  # fmt: skip
    return run_id, res


def test_a_round_scores_its_models_and_votes_at_its_recipes_cost(overlapping):
    from scatterloop.core.classify.tables import validation_predictions
    from scatterloop.core.classify.voting import decide, hard_vote, round_costs, scores, soft_vote

    ws, _ = overlapping
    run_id, res = _round(ws, positive_cost=3.0)  # precision first: a false realistic call costs three missed ones
    assert res.recipe["positive_cost"] == 3.0 and res.recipe["name"] == "ours"
    assert res.decision["threshold"] == 0.75 and res.decision["rule"] == "least expected cost"
    costs = round_costs(ws.store.get_run(run_id).result)
    with np.load(ws.run_dir(run_id) / "validation.npz") as z:
        y, probs, models = z["y"], z["probs"], [str(m) for m in z["models"]]
    classes = res.classes
    assert scores(y, decide(soft_vote(probs), costs), classes, "realistic") == res.voting["soft"]
    assert scores(y, hard_vote(probs, costs), classes, "realistic") == res.voting["hard"]
    for m, p in zip(models, probs, strict=True):
        assert scores(y, decide(p, costs), classes, "realistic") == res.models[m]["metrics"]
    shown = validation_predictions(ws, run_id)  # the confusion matrices and cells of the Train tab
    assert shown["soft voting"][2].tolist() == decide(soft_vote(probs), costs).tolist()
    p_real = soft_vote(probs)[:, classes.index("realistic")]
    doubtful = (p_real > 0.5) & (p_real <= 0.75)
    assert doubtful.any(), "overlapping features leave some calls between 0.5 and 0.75"
    assert (shown["soft voting"][2][doubtful] == classes.index("fake")).all()

    run_1, res_1 = _round(ws)  # ours by default: the arg-max
    assert res_1.decision["threshold"] == 0.5 and res_1.decision["rule"] == "arg-max"
    with np.load(ws.run_dir(run_1) / "validation.npz") as z:
        assert scores(z["y"], soft_vote(z["probs"]).argmax(1), classes, "realistic") == res_1.voting["soft"]
    with pytest.raises(ValueError, match="positive_cost"):
        _round(ws, positive_cost=0.0)


def test_prediction_stores_the_rounds_decision_and_its_probability(overlapping, monkeypatch):
    """A suggestion is the class the round decides and its confidence that class's probability; pre-labelling
    at 0.9 takes only calls at least 90 % sure."""
    from scatterloop.core.classify import predict, prelabel, review_queue

    ws, unlabeled = overlapping
    run_id, res = _round(ws, positive_cost=3.0)
    ids = sorted(img.id for img in unlabeled)
    p_real = np.linspace(0.05, 0.95, len(ids))
    of = dict(zip(ids, p_real, strict=True))
    k = res.classes.index("realistic")

    def probabilities(ws, result, images, **_):
        p = np.array([of[img.id] for img in images])
        out = np.zeros((len(result["models"]), len(images), 2))
        out[..., k], out[..., 1 - k] = p, 1 - p
        return list(result["models"]), out, np.full(out.shape[:2], np.nan)  # no network: no domain ratio

    monkeypatch.setattr(predict, "round_predictions", probabilities)
    from scatterloop.core.jobs import run_job

    def work(run_id, progress, should_stop, classify_run=run_id):
        return predict.predict_candidates(ws, classify_run, run_id=run_id, scheme="soft")

    _, out = run_job(ws.store, "predict", {}, work)
    assert out.suggested == {"fake": int((p_real <= 0.75).sum()), "realistic": int((p_real > 0.75).sum())}
    sugg = ws.store.model_suggestions("ensemble:soft")
    for i, p in zip(ids, p_real, strict=True):
        label, conf = sugg[i]
        assert label == ("realistic" if p > 0.75 else "fake")
        assert conf == pytest.approx(p if p > 0.75 else 1 - p)
    assert ws.store.model_suggestions("ensemble:hard")[ids[-1]][0] == "realistic"
    # the hard vote's confidence is the models' mean probability of the class it calls, not its share of the votes
    # (every model agreeing at 0.55 was a "1.0" call that pre-labelling at 0.9 took)
    hard = ws.store.model_suggestions("ensemble:hard")
    for i, p in zip(ids, p_real, strict=True):
        assert hard[i] == (("realistic", pytest.approx(p)) if p > 0.75 else ("fake", pytest.approx(1 - p)))
    assert prelabel(ws.store, threshold=0.9, annotator="hard", scheme="hard")["confident"] == int(
        ((p_real >= 0.9) | (p_real <= 0.1)).sum()
    )
    ws.store.undo_last("hard")
    # a workspace predicted before: its hard calls hold their share of the votes (1.0 where all agree); pre-labelling
    # takes no more than the models' mean probability stored beside them
    for label in ("realistic", "fake"):
        mine = [i for i in ids if hard[i][0] == label]
        now = ws.store.current_round()
        ws.store.add_labels(mine, label, "ensemble:hard", origin="model", confidence=1.0, round=now)
    assert all(c == 1.0 for _, c in ws.store.model_suggestions("ensemble:hard").values())
    assert prelabel(ws.store, threshold=0.9, annotator="old", scheme="hard")["confident"] == int(
        ((p_real >= 0.9) | (p_real <= 0.1)).sum()
    )
    ws.store.undo_last("old")
    # the queue goes by the odds, nearest even first: a "fake" at 0.30 (0.70 realistic) is as doubtful as a
    # "fake" at 0.70, not the most doubtful of all
    queue = review_queue(ws.store, "uncertain", scheme="soft")
    assert [round(abs(of[i] - 0.5), 6) for i in queue] == sorted(round(abs(p - 0.5), 6) for p in p_real)
    counts = prelabel(ws.store, threshold=0.9, annotator="me", scheme="soft")
    assert counts["confident"] == int(((p_real >= 0.9) | (p_real <= 0.1)).sum())
    labels = ws.store.current_labels(ids)
    assert all(labels[i].label == "realistic" for i, p in zip(ids, p_real, strict=True) if p >= 0.9)
