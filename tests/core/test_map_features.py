"""Maps drawn from the loop's own features (physics, a classifier round) and their separation figure."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.core.embed import MapParams
from scatterloop.core.embed.features import parse_source
from scatterloop.core.embed.jobs import run_build
from scatterloop.core.embed.separation import knn_accuracy


def test_knn_accuracy_leave_one_out_by_hand():
    xy = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5], [10, 10], [10, 11], [11, 10], [11, 11], [10.5, 10.5]])
    assert knn_accuracy(xy, ["a"] * 5 + ["b"] * 5) == 1.0
    # a "b" amid the a's: its 5 nearest others are the 4 a's and one far b, so it is voted wrong; each a
    # sees 3 a's and 2 b's (the odd one and the nearest far one) and is still right: 9 of 10
    assert knn_accuracy(xy, ["a"] * 4 + ["b"] + ["b"] * 5) == 0.9
    assert knn_accuracy(xy[:4], ["a", "b", "a", "b"]) is None  # fewer than k + 1 points
    assert knn_accuracy(xy, ["a"] * 10) is None  # one class


def test_feature_source_is_parsed_or_refused():
    assert parse_source("physics") == ("physics", None)
    assert parse_source("classifier:12") == ("classifier", 12)
    with pytest.raises(ValueError, match="classifier:<run id>"):
        parse_source("classifier:latest")


def test_physics_map_builds_records_separation_and_places_new(small_workspace, tmp_path):
    from scatterloop.core.explore import reconstruction_png
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    ws = small_workspace
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if (img.truth or {}).get("realistic") else "fake", "oracle")
    params = MapParams(method="pca", seed=0, features="physics")
    run_id, res = run_build(ws, params)
    run = ws.store.get_run(run_id)
    assert run.status == "done" and run.params["features"] == "physics" and res.recomputed
    assert res.n_images == 12 and res.features == "physics" and res.n_train == 0
    sep = run.result["separation"]
    assert sep["k"] == 5 and sep["pattern_n"] == 12 and sep["label_n"] == 6
    assert sep["pattern_knn"] is not None and 0 <= sep["pattern_knn"] <= 1
    xy = ws.store.map_arrays(run_id)["xy"]
    assert xy.shape == (12, 2) and np.isfinite(xy).all()
    assert reconstruction_png(ws, run_id, int(ws.store.map_arrays(run_id)["ids"][0])) is None  # no decoder
    # an autoencoder map of the same images is another cache entry, not this one
    assert run_build(ws, MapParams(size=32, latent_dim=4, epochs=1, method="pca"))[1].cache_key != res.cache_key
    # the same physics map again is reused, with the separation of today's labels
    again = run_build(ws, params)[1]
    assert not again.recomputed and again.separation["pattern_knn"] == sep["pattern_knn"]
    # a later image is described against the same reference frames and placed
    from scatterloop.core.embed import place_new
    from scatterloop.core.jobs import run_job

    simulate_dataset("rings", 2, tmp_path / "more", seed=99, size=64)
    import_paths(ws, [tmp_path / "more"], source="generated")
    _, placed = run_job(ws.store, "place", {}, lambda run_id, progress, should_stop: place_new(ws, again.run_id))
    assert placed.placed == 2


def test_classifier_round_features_map_a_network_penultimate_layer(small_workspace, tmp_path):
    """A round with a network maps its pre-logits (timm `forward_head(pre_logits=True)`), not its logits."""
    from scatterloop.core.classify import RoundParams, train_round
    from scatterloop.core.embed.features import classifier_features
    from scatterloop.core.jobs import run_job

    ws = small_workspace
    for img, _ in ws.store.list_images():
        if img.source == "generated":
            ws.store.add_labels([img.id], "realistic" if (img.truth or {}).get("realistic") else "fake", "oracle")
    if {s.label for s in ws.store.current_labels().values()} != {"realistic", "fake"}:
        pytest.skip("seeded candidates happen to hold one class only")
    params = RoundParams(models=("physics", "tiny"), epochs=1, input_size=32, batch_size=4)
    round_id, _ = run_job(
        ws.store, "classify", {}, lambda run_id, progress, should_stop: train_round(ws, params, run_id=run_id)
    )
    images = [img for img, _ in ws.store.list_images()]
    feats, state = classifier_features(ws, round_id, images)
    assert str(state["arch"]) == "tiny" and feats.shape[0] == 12 and feats.shape[1] > 2 and np.isfinite(feats).all()
    run_id, res = run_build(ws, MapParams(method="pca", seed=0, features=f"classifier:{round_id}"))
    assert ws.store.get_run(run_id).params["features"] == f"classifier:{round_id}"
    assert res.separation["label_n"] == 6 and res.separation["pattern_n"] == 12


def test_embed_cli_features_prints_the_separation(small_workspace, capsys):
    import json

    from scatterloop.core.cli import main

    args = ["embed", "--workspace", str(small_workspace.root), "--method", "pca", "--features", "physics", "--json"]
    assert main([*args, "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["features"] == "physics" and out["separation"]["pattern_n"] == 12 and out["separation"]["k"] == 5
