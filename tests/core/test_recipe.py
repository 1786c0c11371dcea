"""The default training recipe's parts: calibration, early stopping, physics augmentations, padded inputs,
the physics model, and a round that follows a named recipe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scatterloop.core.classify.augment import augment_pairs
from scatterloop.core.classify.calibrate import fit_temperature, nll, softmax
from scatterloop.core.classify.featmodel import GROUPS, FeatureClassifier, feature_logits, fit_features
from scatterloop.core.classify.inputs import frame_input, pad_square, robust_log, to_channels
from scatterloop.core.classify.physics import FEATURES, frame_features
from scatterloop.core.classify.recipes import OURS, PAPER, recipe
from scatterloop.core.classify.registry import create_classifier
from scatterloop.core.classify.train import fit, predict_logits


def test_temperature_scaling_lowers_validation_nll_and_keeps_decisions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    margin = np.where(y == 1, 1.0, -1.0) + rng.normal(0, 1.5, 400)  # right on average, far too confident
    logits = np.stack([-4 * margin, 4 * margin], 1)
    t = fit_temperature(logits, y)
    assert t > 1.5
    assert nll(logits, y, t) < nll(logits, y) - 0.1
    assert np.array_equal((logits / t).argmax(1), logits.argmax(1))


def test_a_few_separable_labels_do_not_make_the_model_certain():
    """Twelve validation labels that the model happens to separate: with hard targets the temperature falls to
    its bound and every probability becomes 0 or 1; Platt's targets keep a label's weight at (n+1)/(n+2)."""
    y = np.array([0, 1] * 6)
    logits = np.stack([-np.where(y == 1, 1.0, -1.0), np.where(y == 1, 1.0, -1.0)], 1)  # 0.88 sure at T = 1
    t = fit_temperature(logits, y)
    p = softmax(logits, t)[np.arange(len(y)), y]
    assert 0.5 < t < 1.5, t
    assert np.all(p < 0.95)  # about (6 + 1) / (6 + 2) = 0.875 sure, not 1.0


def test_a_persons_few_slips_do_not_make_a_sure_model_doubt_everything():
    """100 validation images the model gets right with logit margin 3 (95 % sure at T = 1), ten of them
    labelled wrongly by the person: plain temperature scaling softens every probability to explain the ten;
    the label-noise mixture puts them down to the person, and the model still pre-labels at 0.9."""
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 100)
    margin = np.where(truth == 1, 3.0, -3.0) + rng.normal(0, 0.3, 100)
    logits = np.stack([-margin / 2, margin / 2], 1)
    labels = truth.copy()
    labels[:10] = 1 - labels[:10]
    plain = fit_temperature(logits, labels, max_label_error=0.0)
    robust = fit_temperature(logits, labels)
    assert (softmax(logits, plain).max(1) >= 0.9).mean() < 0.5, plain  # softened below the threshold
    assert (softmax(logits, robust).max(1) >= 0.9).mean() > 0.9, robust
    assert robust >= 0.2  # never sharpened more than five-fold


def test_temperature_is_one_when_there_is_nothing_to_fit():
    assert fit_temperature(np.zeros((3, 2)), np.array([1, 1, 1])) == 1.0


def _pairs(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes a small network can tell apart: a bright disc in the centre or in a corner."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    x = np.zeros((n, 2, size, size), np.float32)
    y = rng.integers(0, 2, n)
    for i in range(n):
        c = size / 2 if y[i] else size / 5
        x[i, 0] = np.exp(-((yy - c) ** 2 + (xx - c) ** 2) / 8) * 2 - 1 + rng.normal(0, 0.3, (size, size))
        x[i, 1] = 1
    return x, y


def test_early_stopping_restores_the_best_epoch():
    x, y = _pairs(24)
    xv, yv = _pairs(16, seed=1)
    yv = 1 - yv  # validation disagrees with training: validation loss rises once the model learns
    torch.manual_seed(0)
    model = create_classifier("tiny", 2, input_size=16, in_chans=3)
    res = fit(
        model, x, y, input_size=16, epochs=8, lr=3e-3, batch_size=8, x_val=xv, y_val=yv, channels=3, patience=2,
        augment="none",
    )  # fmt: skip
    losses = [row["val_loss"] for row in res.history]
    assert res.best_epoch == int(np.argmin(losses)) + 1
    assert len(res.history) <= res.best_epoch + 2
    z = predict_logits(model, xv, input_size=16, channels=3)
    restored = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(yv)).item()
    assert restored == pytest.approx(min(losses), rel=1e-4, abs=1e-5)


def test_augmentations_keep_image_and_mask_aligned():
    s = 32
    pair = torch.zeros(8, 2, s, s)
    pair[:, 1] = 1.0
    pair[:, 1, :, 10] = 0.0  # a gap column, and the image is -1 exactly there
    pair[:, 0] = 0.5
    pair[:, 0, :, 10] = -1.0
    pair[:, 0, 5:9, 20:24] = 1.0  # a feature on valid pixels
    out = augment_pairs(pair, torch.Generator().manual_seed(3), max_shift=0.1, exposure=0.2)
    for i in range(8):
        img, valid = out[i, 0], out[i, 1]
        gap = (valid == 0) & (img == -1.0)
        outside = (valid == 0) & (img == 0)  # pixels shifted in from beyond the frame
        assert bool(((valid == 1) | gap | outside).all())
        cols = torch.nonzero(gap.any(0)).flatten().tolist()
        assert len(cols) == 1  # the gap stayed one straight column of the mask and the image together
        assert bool((img[valid == 1] > -1).all())


def test_padding_keeps_aspect_ratio_and_masks_the_padding():
    h, w = 20, 60
    data = np.zeros((h, w), np.float32)
    data[:, 25:35] = 100.0  # a vertical band in the middle third
    mask = np.zeros((h, w), bool)
    pair = frame_input(data, mask, 30)
    assert pair.shape == (2, 30, 30)
    valid_rows = np.flatnonzero(pair[1].mean(1) > 0.5)
    assert 8 <= len(valid_rows) <= 12  # 20/60 of the height: not stretched to the full square
    band_cols = np.flatnonzero(pair[0, 15] > 0.5)
    assert 11 <= band_cols.min() and band_cols.max() <= 18  # the band keeps its width (10/60 of 30 px)
    assert pad_square(np.ones((4, 2))).shape == (4, 4)


def test_robust_log_ignores_a_hot_pixel():
    data = np.full((32, 32), 100.0)
    data[4:8, 4:8] = 1000.0
    hot = data.copy()
    hot[0, 0] = 1e9
    a, b = robust_log(data, np.zeros_like(data, bool)), robust_log(hot, np.zeros_like(hot, bool))
    assert np.allclose(a[1:, 1:], b[1:, 1:], atol=0.05)


def test_three_channels_mask_and_highpass():
    pair = torch.zeros(1, 2, 32, 32)
    pair[0, 1] = 1
    pair[0, 1, :, 5] = 0
    ch = to_channels(pair, 3)
    assert ch.shape == (1, 3, 32, 32)
    assert bool((ch[0, 1, :, 5] == -1).all()) and bool((ch[0, 1, :, 6] == 1).all())
    assert bool((ch[0, 2, :, 5] == 0).all())  # no high-pass signal on an invalid pixel


def test_physics_features_are_finite_for_any_frame():
    from scatterloop.core.simulate import simulate_frame

    rng = np.random.default_rng(0)
    for pattern in ("rings", "peaks", "background"):
        f = frame_features(simulate_frame(pattern, rng, size=64).counts)
        assert list(f) == list(FEATURES) and all(np.isfinite(v) for v in f.values())
    for frame in (np.zeros((40, 90), np.uint16), np.full((33, 17), np.nan), np.ones((8, 8))):
        f = frame_features(frame)
        assert all(np.isfinite(v) for v in f.values())


def test_physics_model_learns_from_few_labels_and_saves_like_any_model(tmp_path):
    from scatterloop.core.classify.registry import ClassifierConfig, load_classifier, save_classifier

    rng = np.random.default_rng(0)
    n, f = 40, len(FEATURES)
    y = rng.integers(0, 2, n)
    feats = rng.normal(0, 1, (n, f))
    feats[:, 3] += np.where(y == 1, 0, 4)  # fakes depart from real frames in one feature
    x = np.concatenate([feats, rng.integers(0, len(GROUPS), (n, 1))], 1).astype(np.float32)
    model = FeatureClassifier(2)
    ref = rng.normal(0, 1, (50, f))
    used = model.set_reference(ref, np.zeros(50))
    assert used["rings"] == 50 and used["peaks"] == 50  # too few of a pattern: all frames are its reference
    fit_features(model, x, y)
    assert (feature_logits(model, x).argmax(1) == y).mean() > 0.9
    save_classifier(model, ClassifierConfig("physics", ["fake", "realistic"], 0, channels=0), tmp_path / "m")
    loaded, cfg = load_classifier(tmp_path / "m")
    assert cfg.kind == "features"
    assert np.allclose(feature_logits(loaded, x), feature_logits(model, x))


def test_recipes_are_named_and_overridable():
    assert OURS.calibrate and OURS.patience and OURS.channels == 3 and OURS.models == ("physics", "physics_forest")
    assert PAPER.lr == 1e-4 and PAPER.epochs == 5 and not PAPER.calibrate
    assert recipe("ours", epochs=3, lr=None).epochs == 3
    with pytest.raises(ValueError, match="recipe"):
        recipe("nope")


def test_the_pattern_task_defaults_to_the_network_that_sees_bragg_spots():
    """A pattern round that names no recipe follows `pattern` (the network `bench simreal` measures); every other
    task `ours`; a named recipe is kept. The CLI and the Train tab leave the recipe unset by default."""
    from scatterloop.core.classify.recipes import PATTERN, default_recipe
    from scatterloop.core.classify.rounds import RoundParams
    from scatterloop.core.cli import build_parser

    assert RoundParams(task="pattern").resolved() == PATTERN
    assert PATTERN.models == ("tiny",) and PATTERN.input_size == 96 and PATTERN.epochs == 40
    assert RoundParams(task="realism").resolved() == OURS and RoundParams(task="labels").resolved() == OURS
    assert RoundParams(task="pattern", recipe="ours").resolved() == OURS
    assert [default_recipe(t) for t in ("pattern", "realism", None)] == ["pattern", "ours", "ours"]
    args = build_parser().parse_args(["classify", "train", "--workspace", "w", "--task", "pattern"])
    assert args.recipe is None
