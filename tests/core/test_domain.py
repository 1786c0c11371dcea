"""The domain check (`core.classify.domain`): a network's calls on images unlike its training frames are marked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scatterloop.core.classify import domain
from scatterloop.core.classify.registry import create_classifier


def _features(rng, n, shift=0.0, d=24):
    """Two classes of correlated Gaussian features; `shift` moves every frame off both (across their axis)."""
    y = np.arange(n) % 2
    mix = np.linspace(0.2, 2.0, d)[:, None] * np.random.default_rng(99).normal(size=(d, d)) / np.sqrt(d)
    f = rng.normal(size=(n, d)) @ mix + 3.0 * y[:, None] + shift * (-1.0) ** np.arange(d)
    return f, y


def test_held_out_frames_of_the_training_kind_pass_and_shifted_ones_are_flagged():
    rng = np.random.default_rng(0)
    ft, y = _features(rng, 400)
    fv, _ = _features(rng, 200)
    check = domain.fit_domain(ft, y, fv)
    held, _ = _features(rng, 2000)
    away, _ = _features(rng, 500, shift=4.0)
    assert np.mean(check.ratio(held) > 1) < 0.05  # the threshold is the validation frames' 99th percentile
    assert np.mean(check.ratio(away) > 1) > 0.95
    assert np.sum(check.ratio(fv) > 1 + 1e-9) == 1  # the 199th of 200 (conformal: ceil(201 * 0.99))


def test_wide_features_are_projected_and_a_saved_check_reads_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(domain, "MAX_DIM", 8)
    rng = np.random.default_rng(1)
    ft, y = _features(rng, 120, d=30)
    fv, _ = _features(rng, 40, d=30)
    check = domain.fit_domain(ft, y, fv)
    assert check.projection.shape == (30, 8) and check.precision.shape == (8, 8)
    assert np.allclose(check.projection.T @ check.projection, np.eye(8))  # orthonormal: distances kept
    check.save(tmp_path)
    again = domain.load_domain(tmp_path)
    probe, _ = _features(rng, 50, shift=1.0, d=30)
    assert np.allclose(again.ratio(probe), check.ratio(probe), rtol=1e-4)
    assert again.false_flag_bound == check.false_flag_bound
    assert domain.load_domain(tmp_path / "elsewhere") is None  # a model saved without a check


def test_the_threshold_is_a_conformal_quantile_and_says_its_false_flag_bound():
    rng = np.random.default_rng(2)
    ft, y = _features(rng, 200)
    for n, bound in ((99, 0.01), (20, round(1 / 21, 4))):
        fv, _ = _features(rng, n)
        check = domain.fit_domain(ft, y, fv)
        assert check.false_flag_bound == bound
        assert np.sum(check.ratio(fv) > 1 + 1e-9) == 0  # k = n here: every validation frame at or inside
    held, _ = _features(rng, 5000)
    fv, _ = _features(rng, 400)
    assert np.mean(domain.fit_domain(ft, y, fv).ratio(held) > 1) < 0.02


def test_too_little_or_broken_input_gives_no_check():
    rng = np.random.default_rng(3)
    ft, y = _features(rng, 60)
    fv, _ = _features(rng, 30)
    assert domain.fit_domain(ft, y, fv) is not None
    once = np.where(np.arange(60) == 0, 2, y)  # a third class seen once
    assert domain.fit_domain(ft, once, fv) is None
    assert domain.fit_domain(ft, y, fv[: domain.MIN_VAL - 1]) is None  # too few validation frames
    bad = ft.copy()
    bad[5, 3] = np.nan  # a diverged network: no check rather than a failed round or a NaN threshold
    assert domain.fit_domain(bad, y, fv) is None
    badv = fv.copy()
    badv[0, 0] = np.inf
    assert domain.fit_domain(ft, y, badv) is None


@pytest.mark.parametrize("arch", ["tiny", "alexnet"])
def test_the_head_input_is_captured_for_timm_and_torchvision_networks(arch):
    model = create_classifier(arch, 3, input_size=64 if arch == "tiny" else 96, in_chans=3).eval()
    size = 64 if arch == "tiny" else 96
    with domain.captured_features(model) as got, torch.no_grad():
        model(torch.zeros(2, 3, size, size))
    assert len(got) == 1 and got[0].ndim == 2 and got[0].shape[0] == 2
    with torch.no_grad():  # the hook is gone after the block
        model(torch.zeros(1, 3, size, size))
    assert len(got) == 1


def test_ratios_of_several_models_combine_by_median_and_a_model_without_a_check_is_left_out():
    r = np.array([[0.5, np.nan, 3.0], [1.5, np.nan, np.nan], [2.5, np.nan, 1.0]])
    out = domain.combine(r)
    assert np.allclose(out[[0, 2]], [1.5, 2.0]) and np.isnan(out[1])


def test_the_note_names_the_count_and_what_to_do():
    assert domain.outside_note(0, 10, "pattern") == "" and domain.outside_note(None, 10) == ""
    note = domain.outside_note(3, 10, "pattern")
    assert note.startswith("3 of 10 images are unlike the frames") and "--domain wide" in note
    # a round whose networks could not fit a check (too few validation frames) says so: its calls on real frames
    # unlike its training ones were trusted without a word; a physics round checks nothing of the kind, silently
    assert domain.outside_note(None, 9, "pattern", ["tiny"]).startswith("No call is checked against the training")
    assert domain.outside_note(None, 9, "realism", ["physics", "physics_forest"]) == ""


def test_a_pattern_round_keeps_its_check_and_prediction_marks_frames_unlike_its_training(workspace, tmp_path):
    """A tiny pattern round on simulated frames; frames of no scattering pattern (checkerboards of counts) are
    predicted beside frames like its training ones: every call stores its domain ratio, the checkerboards lie
    outside, a person's label stays, and the count of calls made outside is the count of ratios above 1."""
    from scatterloop.core.classify import RoundParams, train_round
    from scatterloop.core.classify.predict import predict_candidates, predict_images, task_domains
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.jobs import run_job
    from scatterloop.core.simulate import simulate_dataset

    for i, pattern in enumerate(("rings", "peaks", "background")):
        simulate_dataset(pattern, 40, tmp_path / "sim", seed=60 + i, size=64)  # a validation set of ~24
        simulate_dataset(pattern, 1, tmp_path / "new", seed=90 + i, size=64)
    (tmp_path / "other").mkdir()
    yy, xx = np.mgrid[:64, :64]
    for k in range(3):  # frames of no scattering pattern, without metadata: a checkerboard of counts
        board = ((yy // (k + 2) + xx // (k + 2)) % 2) * 10_000 + 5
        np.save(tmp_path / "other" / f"board{k}.npy", board.astype(np.int32))
    import_paths(workspace, [tmp_path / "sim"], source="simulated")
    like = import_paths(workspace, [tmp_path / "new"], source="experimental").image_ids
    other = import_paths(workspace, [tmp_path / "other"], source="experimental").image_ids
    store = workspace.store
    store.add_labels([other[0]], "rings", "ada")  # a person's word, whatever the model says
    params = RoundParams(task="pattern", sources=("simulated",), models=("tiny",), epochs=4, input_size=32, seed=0)
    run, res = run_job(store, "classify", {}, lambda run_id, progress, should_stop: train_round(
        workspace, params, run_id=run_id))  # fmt: skip
    assert res.models["tiny"]["domain_threshold"] > 0
    assert (workspace.root / res.models["tiny"]["checkpoint"] / domain.FILE).is_file()

    _, out = run_job(store, "predict", {}, lambda run_id, progress, should_stop: predict_images(
        workspace, run, like + other, run_id=run_id))  # fmt: skip
    ratios = task_domains(store, "pattern", like + other)
    assert set(ratios) == set(like + other)  # every call carries its ratio
    assert out.outside_domain == sum(r > 1 for r in ratios.values())
    assert min(ratios[i] for i in other) > max(1.0, max(ratios[i] for i in like))
    assert store.current_labels([other[0]])[other[0]].annotator == "ada"
    _, again = run_job(store, "predict", {}, lambda run_id, progress, should_stop: predict_candidates(
        workspace, run, run_id=run_id))  # fmt: skip
    assert again.selection == "images of unknown pattern" and again.images == len(other)  # the rest have one
    npz = np.load(workspace.root / out.predictions)
    assert npz["domain"].shape == (1, len(like + other))


def test_pre_labelling_leaves_a_sure_call_on_an_image_unlike_the_training_frames(small_workspace):
    from scatterloop.core.classify import prelabel

    store = small_workspace.store
    cands = [img.id for img, _ in store.list_images() if img.source == "generated"][:3]
    run = store.create_run("classify", {"task": "realism"})
    store.update_run(run, status="done", result={"task": "realism", "classes": ["fake", "realistic"]})
    store.add_labels(cands, "realistic", "ensemble:weighted", origin="model", confidence=0.95, domain=[0.5, 2.0, None])
    counts = prelabel(store, threshold=0.9, annotator="ada")
    assert counts == {"task": "realism", "suggested": 3, "confident": 2, "unlike_training": 1, "prelabelled": 2}
    labels = store.current_labels(cands)
    assert cands[1] not in labels or labels[cands[1]].label is None
    assert labels[cands[0]].label == labels[cands[2]].label == "realistic"
