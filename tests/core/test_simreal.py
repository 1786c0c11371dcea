"""The wide simulation domain and the sim-to-real benchmark, at toy sizes (CPU, a few seconds)."""

import json

import numpy as np
import pytest
import tifffile

from scatterloop.core.classify.inputs import frame_input
from scatterloop.core.cli import main
from scatterloop.core.io import read_frames
from scatterloop.core.simulate import PATTERNS, frame_record, simulate_dataset, simulate_frame
from scatterloop.core.simulate.farfield import render_rotation_spots, splat
from scatterloop.core.simulate.geometry import Detector, Scene
from scatterloop.core.simulate.storage import draw_readout, write
from scatterloop.core.simulate.wide import WIDE_DETECTORS, WIDE_TYPES, wide_frame


@pytest.mark.parametrize("kind", WIDE_TYPES)
def test_every_wide_detector_type_keeps_its_truth_shape_and_dtype(kind):
    det, circular, dtypes = WIDE_DETECTORS[kind]
    nh, nw = det.native_shape
    for c, pattern in enumerate(PATTERNS):
        f = wide_frame(pattern, np.random.default_rng([7, c]), size=32, detector=kind)
        p = f.params
        assert f.pattern == pattern and p["detector"] == kind and p["domain"] == "wide"
        assert str(f.counts.dtype) == p["dtype"] and p["dtype"] in dtypes
        assert list(f.counts.shape) == p["size"] and max(f.counts.shape) == 32 and min(f.counts.shape) >= 8
        h, w = f.counts.shape[::-1] if p["rotated"] else f.counts.shape
        assert abs(h / w - nh / nw) < 0.2 or min(h, w) == 8  # aspect kept (strips clamp at 8 px)
        assert np.isfinite([p["centre_x"], p["centre_y"], p["gain"]]).all()
        assert p["beam"] in ("inside", "near_edge", "outside", "crop", "gisaxs_below")
        if circular:
            assert f.counts[0, 0] == 0 and f.counts[-1, -1] == 0  # nothing outside the active disc


def test_wide_domain_dataset_writes_readable_frames_and_leaves_default_unchanged(tmp_path):
    res = simulate_dataset("peaks", 3, tmp_path, seed=2, size=40, domain="wide")
    rows = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    assert len(res.files) == 3 and all(r["domain"] == "wide" and r["pattern"] == "peaks" for r in rows)
    for name, row in zip(res.files, rows, strict=True):
        frame = next(read_frames(tmp_path / name, min_side=1))
        assert str(frame.data.dtype) == row["params"]["dtype"] and list(frame.data.shape) == row["params"]["size"]
    arr, row = frame_record("rings", 5, 0, 48, None)
    assert "domain" not in row
    assert np.array_equal(arr, simulate_frame("rings", np.random.default_rng([5, 0]), size=48).counts)
    with pytest.raises(ValueError, match="wide"):
        simulate_dataset("speckle", 1, tmp_path, domain="wide")


def test_frame_input_pads_instead_of_squashing_and_ignores_one_hot_pixel():
    strip = np.full((20, 100), 50, np.int32)
    strip[:, 40] = 5000  # a vertical line stays one column wide if nothing is squashed
    strip[0, 0] = 2**30  # one hot pixel must not set the scale
    img, valid = frame_input(strip, np.zeros(strip.shape, bool), 50)
    assert img.shape == valid.shape == (50, 50) and img.dtype == np.float32
    assert valid[:10].max() == 0 and valid[-10:].max() == 0 and img[:10].max() == 0  # padding above and below
    assert valid[25].min() == 1.0
    assert img[25, 20] >= 1.0 and img[25, 30] < 0.0  # the line at full scale, the flat 50 counts far below


def test_frame_input_keeps_small_spots_of_a_large_sparse_frame_and_drops_single_pixel_events():
    frame = np.zeros((2048, 2048), np.uint16)  # a zero-suppressed frame: a few stored pixels, zeros elsewhere
    frame[700:702, 1300:1302] = 300  # Bragg spots two native pixels wide
    frame[1500:1502, 200:202] = 280
    frame[100, 100] = frame[1000, 1800] = 400  # single-pixel events: a warm pixel, a zinger
    img, valid = frame_input(frame, np.zeros(frame.shape, bool), 64)
    assert valid.min() == 1.0
    spots = img[700 * 64 // 2048, 1300 * 64 // 2048], img[1500 * 64 // 2048, 200 * 64 // 2048]
    assert min(spots) > 0.0  # each spot keeps a share of its counts (it is averaged with 8 x 8 pixels)
    assert np.sum(img > -0.9) == 2  # the single-pixel events are gone, the rest stays dark
    # an anti-aliased resize to 64 px (the earlier input path) would have averaged each spot over 32 x 32 pixels


def test_frame_input_keeps_a_featureless_count_frame_featureless():
    rng = np.random.default_rng(0)
    dark = rng.poisson(0.3, (256, 256)).astype(np.int32)  # a dark photon-counting frame: noise, no pattern
    img, _ = frame_input(dark, np.zeros(dark.shape, bool), 32)
    assert img.max() < 0.0  # one or two counts do not span the scale
    floats = dark.astype(np.float64) / 7.3 + 0.01  # processed units: measured (`photons`), so as dark as counts
    assert frame_input(floats, np.zeros(dark.shape, bool), 32)[0].max() < 0.0
    yy, xx = np.indices(dark.shape)
    smooth = 0.01 * np.exp(-(xx + yy) / 300.0)  # noise-free floats have no unit: their own range is the scale
    assert frame_input(smooth, np.zeros(dark.shape, bool), 32)[0].max() > 0.0


def test_rotation_spots_keep_their_counts_and_sparse_frames_keep_only_what_passes_the_threshold():
    scene = Scene((64, 64), Detector("GE", (1, 1), module_px=(2048, 2048), pixel_m=200e-6), (32.0, 32.0), 6.4e-3)
    splat(scene, np.array([10.3, 40.9]), np.array([20.6, 5.1]), np.array([100.0, 50.0]))
    assert scene.expected.sum() == pytest.approx(150.0)  # integrated, not sampled: sub-pixel spots keep counts
    assert np.count_nonzero(scene.expected) <= 8
    scene.expected[:] = 0
    text = render_rotation_spots(scene, np.random.default_rng(4), native_side=2048)
    assert "Bragg spots" in text and scene.params["spots"] >= 1 and scene.expected.max() > 0
    rng = np.random.default_rng(1)
    readout = draw_readout(rng, "uint16", integrating=True, sparse=True)
    static = np.full((64, 64), 20.0)
    out, threshold = write(static + scene.expected * 50, rng, readout, np.zeros((64, 64), bool), None, static)
    kept = out[(out > 0) & (out < 65535)]
    assert threshold > 0 and kept.size < out.size / 2 and (kept >= threshold - 1).all()


def test_far_field_panels_give_sparse_spot_frames_with_truth_and_rings_background_stay_whole():
    sparse = []
    for i in range(40):
        f = wide_frame("peaks", np.random.default_rng([11, i]), size=64, detector="ge_2048")
        p = f.params
        assert p["readout_integrating"] and p["dtype"] == "uint16" and p["visible"] in (True, False)
        if p["sparse"]:
            assert p["peaks_kind"] in ("rotation", "spots") and p["threshold"] >= 2
            stored = f.counts[(f.counts > 0) & (f.counts < 65535)]
            assert (stored >= p["threshold"] - 0.5).all()  # nothing below the threshold is kept
            if p["readout_k_sigma"] >= 4.5:  # a high threshold: noise seldom passes it, the frame is mostly empty
                assert np.mean(f.counts == 0) > 0.5
            sparse.append(p["visible"])
    assert len(sparse) >= 5 and np.mean(sparse) >= 0.8  # most sparse spot frames show their spots
    for i in range(10):
        f = wide_frame("rings", np.random.default_rng([12, i]), size=48, detector="ge_2048")
        assert not f.params["sparse"]


def test_a_scans_empty_steps_are_sparse_background_frames_with_their_truth():
    kinds = []
    for i in range(30):
        f = wide_frame("background", np.random.default_rng([13, i]), size=96, detector="ge_2048")
        p = f.params
        assert f.pattern == "background"
        kinds.append(p["background_kind"])
        assert p["sparse"] == (p["background_kind"] == "empty_step")
        if p["sparse"]:  # a frame cache of the step: only what passes the threshold over the static frame
            stored = f.counts[(f.counts > 0) & (f.counts < 65535)]
            assert p["threshold"] >= 2 and (stored >= p["threshold"] - 0.5).all()
            assert np.mean(f.counts == 0) > 0.5
    assert 5 <= kinds.count("empty_step") <= 25  # storage alone no longer says "peaks"
    assert {"air", "dark", "halo"} & set(kinds)


def test_single_pixel_events_stay_isolated_on_a_coarse_grid_and_leave_the_input_blank():
    from scatterloop.core.simulate.storage import _scatter

    counts = np.zeros((64, 64))
    _scatter(counts, np.random.default_rng(0), 600, np.full(600, 500.0))  # a 2048-pixel panel's events
    lit = counts > 0
    assert 100 < lit.sum() <= 600
    pad = np.pad(lit, 1)
    neighbours = sum(pad[1 + dy : 65 + dy, 1 + dx : 65 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    assert not np.any(lit & (neighbours > 0))  # as on the native grid: no two events touch
    img, _ = frame_input(counts.astype(np.uint16), np.zeros(lit.shape, bool), 32)
    assert img.max() == -1.0  # nothing two pixels wide: a blank input


def test_a_coarse_sparse_frame_keeps_its_spot_and_only_isolated_noise_above_the_threshold():
    rng = np.random.default_rng(8)
    readout = draw_readout(rng, "uint16", integrating=False, sparse=True)
    yy, xx = np.indices((80, 80))
    static = 0.2 + 20.0 * np.exp(-((yy - 40.0) ** 2 + (xx - 40.0) ** 2) / 200.0)  # a bright halo near the beam
    lam = static.copy()
    lam[10:12, 60:62] += 5000.0  # one Bragg spot, two pixels wide
    out, threshold = write(lam, rng, readout, np.zeros((80, 80), bool), None, static, native_px=2048**2)
    noise = (out > 0) & (out < 65535)
    noise[8:14, 58:64] = False
    assert (out[10:12, 60:62] > 0).all() and noise.sum() > 0  # the spot, and noise passing near the halo
    pad = np.pad(noise, 1)
    touching = sum(pad[1 + dy : 81 + dy, 1 + dx : 81 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    assert not np.any(noise & (touching > 0))  # no pair of noise pixels to pass for a spot
    img, _ = frame_input(out, out == 65535, 40)
    lit = np.argwhere(img > -0.9)
    assert len(lit) and np.abs(lit - [5, 30]).max() <= 2  # the input shows the spot alone


def test_rotation_steps_often_hold_a_few_spots_and_a_lone_pixel_is_not_a_visible_pattern():
    from scatterloop.core.simulate.storage import Readout
    from scatterloop.core.simulate.wide import _visible

    few = []
    for i in range(40):
        scene = Scene((96, 96), Detector("GE", (1, 1), module_px=(2048, 2048), pixel_m=200e-6), (48.0, 48.0), 4e-3)
        render_rotation_spots(scene, np.random.default_rng([14, i]), native_side=2048)
        few.append(scene.params["spots"] <= 4)
    assert np.mean(few) >= 0.3  # a few grains at a fine step: one to four spots per step is common
    readout = Readout("uint16", False, 0.0, 0.0, False, 0.0, 0.0, 0)
    base = np.full((32, 32), 1.0)
    lone = np.zeros((32, 32))
    lone[10, 10] = 1000.0
    assert not _visible(lone, base, 1.0, 0.0, readout)  # a detector event, not scattering
    lone[10, 11] = 1000.0
    assert _visible(lone, base, 1.0, 0.0, readout)  # two touching pixels: a spot


def test_single_pixel_events_scale_with_the_native_pixel_count():
    rng = np.random.default_rng(5)
    readout = draw_readout(rng, "uint16", integrating=True, sparse=True)
    static = np.full((100, 100), 50.0)
    few, _ = write(static, np.random.default_rng(6), readout, np.zeros((100, 100), bool), None, static, 10_000)
    many, _ = write(static, np.random.default_rng(6), readout, np.zeros((100, 100), bool), None, static, 4_000_000)
    assert np.count_nonzero(many) > np.count_nonzero(few)  # a 2048-pixel panel has 400 times the pixels


def test_integrating_readout_adds_a_dark_offset_with_read_noise():
    rng = np.random.default_rng(3)
    readout = draw_readout(rng, "uint16", integrating=True, sparse=False)
    out, threshold = write(np.zeros((128, 128)), rng, readout, np.zeros((128, 128), bool), None, None)
    assert threshold == 0.0
    body = out[out < 65535].astype(float)
    assert abs(np.median(body) - readout.offset) <= 1.0 + 0.2 * readout.read_noise
    assert 0.5 * readout.read_noise <= body.std() or readout.read_noise < 2


def test_bench_simreal_runs_end_to_end_on_a_tiny_manifest(tmp_path, capsys):
    entries = []
    for c, kind in enumerate(PATTERNS):
        f = wide_frame(kind, np.random.default_rng([3, c]), size=48)
        name = f"{kind}/frame.tif"
        (tmp_path / kind).mkdir()
        empty = np.zeros_like(f.counts)
        empty[::7, ::5] = 300  # an empty step of the scan: isolated single-pixel events only
        data = np.stack([f.counts, f.counts, empty]) if kind == "peaks" else f.counts  # a three-frame stack
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")  # three pages, not RGB
        entries.append({"file": name, "kind": kind, "shape": list(data.shape), "reader": "fabio"})
    entries.append({"file": "speckle/x.tif", "kind": "speckle", "reader": "fabio"})  # not a pattern: skipped
    (tmp_path / "MANIFEST.json").write_text(json.dumps(entries))
    argv = ["bench", "simreal", "--n", "2", "--size", "32", "--epochs", "1", "--models", "tiny", "--baseline-n", "0"]
    rc = main([*argv, "--manifest", str(tmp_path / "MANIFEST.json"), "--json"])
    assert rc == 0
    said = capsys.readouterr()
    out = json.loads(said.out.strip().splitlines()[-1])
    # a bar on stderr says which stage it is in (h2: minutes of silence): never on stdout, beside the JSON
    assert "bench simreal" in said.err and "training epoch 1/1" in said.err and "domain check" in said.err
    for key in ("per_file_accuracy", "per_frame_accuracy", "files", "frames", "confusion", "classes", "seconds"):
        assert key in out
    assert out["files"] == 3 and out["frames"] == 5 and out["classes"] == list(PATTERNS)
    assert out["skipped"] == []  # the speckle entry is not a pattern this bench classifies: left out, not failed
    assert np.asarray(out["confusion"]).sum() == 5 and out["train_frames"] == 6
    per = {r["kind"]: r for r in out["per_file"]}
    assert per["peaks"]["frames_without_signal"] == 1 and per["rings"]["frames_without_signal"] == 0  # the empty step
    assert out["frames_without_signal"] == sum(r["frames_without_signal"] for r in out["per_file"])
    sig = np.asarray(out["confusion_signal_truth"])
    blank_not_bg = out["frames_without_signal"] - per["background"]["frames_without_signal"]
    assert sig.sum() == 5 and sig[2].sum() == np.asarray(out["confusion"])[2].sum() + blank_not_bg  # as background
    for key in ("per_frame_accuracy_signal_truth", "per_frame_accuracy_frames_with_signal"):
        assert 0.0 <= out[key] <= 1.0
    assert per["peaks"]["predicted_all_frames_vote"] in PATTERNS
    assert out["per_file_accuracy"] == pytest.approx(
        np.mean([r["predicted"] == r["kind"] for r in out["per_file"]]), abs=1e-4
    )
    # the one empty step of a peaks file can only be right as background: the headline per-frame score is bounded
    assert out["per_frame_accuracy_upper_bound"] == pytest.approx(1 - blank_not_bg / 5)
    assert "per_frame_accuracy_upper_bound" in out["per_frame_accuracy_note"]
    assert sum(r["frames_with_signal_right"] for r in out["per_file"]) <= 5 - out["frames_without_signal"]
    # 1 validation frame per class: too few for the domain check, said so; no baseline asked for
    assert out["domain"]["wide"] == {"error": "too few frames to fit the check"} and set(out["domain"]) == {
        "quantile",
        "wide",
    }


def test_the_benchs_domain_check_counts_what_it_flags():
    import torch

    from scatterloop.core.benchmarks.simreal_bench import simulated_set
    from scatterloop.core.benchmarks.simreal_domain import measure
    from scatterloop.core.classify import create_classifier, fit

    x, y = simulated_set(8, 32, 0, (48, 96))
    xv, yv = simulated_set(7, 32, 1, (48, 96))  # 21 validation frames: enough for a check
    torch.manual_seed(0)
    model = create_classifier("tiny", 3, input_size=32, in_chans=3)
    fit(model, x, y, input_size=32, epochs=2, x_val=xv, y_val=yv, channels=3)
    rng = np.random.default_rng(0)
    noise = np.stack([rng.uniform(-1, 1.5, size=(2, 32, 32)).astype(np.float32) for _ in range(5)])
    noise[:, 1] = 1.0  # every pixel measured
    out = measure(model, (x, y), (xv, yv), (x, y), (xv, yv, np.arange(len(yv)) % 3), {"noise": noise},
                  size=32, channels=3, device="cpu")  # fmt: skip
    assert out["validation_frames"] == 21 and out["false_flag_bound"] == round(1 / 22, 4)
    assert out["real_frames"] == 21 and out["real_outside_right"] + out["real_outside_wrong"] == round(
        out["real_outside_fraction"] * 21
    )
    assert out["real_outside_wrong"] <= out["real_wrong"] and out["other_kinds"]["noise"]["frames"] == 5
    assert 0 <= out["other_kinds"]["noise"]["outside"] <= 5 and 0.0 <= out["sim_test_outside_fraction"] <= 1.0


def test_a_file_is_judged_by_its_frames_with_signal():
    from scatterloop.core.benchmarks.simreal_bench import file_vote

    spots = [0.1, 0.8, 0.1]
    empty = [0.0, 0.02, 0.98]
    p = np.array([spots] + [empty] * 5)  # a scan: one step with spots, five empty steps
    blank = np.array([False] + [True] * 5)
    assert int(file_vote(p, blank).argmax()) == 1  # peaks: the empty steps do not outvote the spots
    assert int(p.mean(0).argmax()) == 2  # what the vote over all frames would say
    assert int(file_vote(p[1:], blank[1:]).argmax()) == 2  # nothing but empty steps: all of them vote


def test_a_manifest_entry_that_cannot_be_used_is_skipped_with_its_reason_and_the_rest_is_measured(tmp_path, caplog):
    from scatterloop.core.benchmarks.manifest import load_manifest
    from scatterloop.core.benchmarks.polar_bench import _real
    from scatterloop.core.benchmarks.simreal_bench import real_set

    f = wide_frame("rings", np.random.default_rng([3, 0]), size=48)
    tifffile.imwrite(tmp_path / "good.tif", f.counts)
    (tmp_path / "broken.tif").write_bytes(b"II*\x00" + b"\x00" * 20)  # a TIFF header and nothing behind it
    entries = [
        {"file": "good.tif", "kind": "rings", "centre_x": f.params["centre_x"], "centre_y": f.params["centre_y"]},
        {"file": "missing.tif", "kind": "peaks"},
        {"file": "broken.tif", "kind": "background", "centre_x": 3, "centre_y": 4},
        {"file": "good.tif", "kind": "rings", "centre_x": "middle", "centre_y": None},
        {"kind": "rings"},
        ["not", "an", "object"],
    ]
    manifest = tmp_path / "MANIFEST.json"
    manifest.write_text(json.dumps(entries))
    usable, skipped = load_manifest(manifest)
    assert len(usable) == 4 and [s["file"] for s in skipped] == ["entry 4", "entry 5"]
    assert "'file'" in skipped[0]["error"] and "object" in skipped[1]["error"]

    x, y, fidx, files, skipped = real_set(manifest, 32)
    assert x.shape == (2, 2, 32, 32) and [r["file"] for r in files] == ["good.tif", "good.tif"]
    reasons = {s["file"]: s["error"] for s in skipped}
    assert set(reasons) == {"missing.tif", "broken.tif", "entry 4", "entry 5"}
    assert all("\n" not in r and r for r in reasons.values())
    assert any("missing.tif" in m and "skipped" in m for m in caplog.messages)  # said once, on one line

    rows, skipped = _real(manifest)
    assert [r["file"] for r in rows] == ["good.tif"] and rows[0]["truth"] == [
        f.params["centre_x"],
        f.params["centre_y"],
    ]
    reasons = {s["file"]: s["error"] for s in skipped}
    assert "broken.tif" in reasons and "centre_x/centre_y" in reasons["good.tif"]

    manifest.write_text(json.dumps([{"file": "missing.tif", "kind": "rings"}]))
    with pytest.raises(ValueError, match="no readable rings"):
        real_set(manifest, 32)
    manifest.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable JSON manifest"):
        load_manifest(manifest)
    with pytest.raises(ValueError, match="no such MANIFEST"):
        load_manifest(tmp_path / "nowhere.json")
