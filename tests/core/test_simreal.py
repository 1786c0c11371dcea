"""The wide simulation domain and the sim-to-real benchmark, at toy sizes (CPU, a few seconds)."""

import json

import numpy as np
import pytest
import tifffile

from core.benchmarks.simreal_bench import prepare
from core.cli import main
from core.io import read_frames
from core.simulate import PATTERNS, frame_record, simulate_dataset, simulate_frame
from core.simulate.wide import WIDE_DETECTORS, WIDE_TYPES, wide_frame


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


def test_prepare_pads_instead_of_squashing_and_ignores_one_hot_pixel():
    strip = np.full((20, 100), 50, np.int32)
    strip[:, 40] = 5000  # a vertical line stays one column wide if nothing is squashed
    strip[0, 0] = 2**30  # one hot pixel must not set the scale
    x = prepare(strip, np.zeros(strip.shape, bool), 50)
    assert x.shape == (50, 50) and x.dtype == np.float32
    assert x[:10].max() == 0 and x[-10:].max() == 0  # padding above and below the strip
    assert x[25, 20] == 1.0 and x[25, 30] < 0.5


def test_bench_simreal_runs_end_to_end_on_a_tiny_manifest(tmp_path, capsys):
    entries = []
    for c, kind in enumerate(PATTERNS):
        f = wide_frame(kind, np.random.default_rng([3, c]), size=48)
        name = f"{kind}/frame.tif"
        (tmp_path / kind).mkdir()
        data = np.stack([f.counts, f.counts]) if kind == "peaks" else f.counts  # a two-frame stack
        tifffile.imwrite(tmp_path / name, data)
        entries.append({"file": name, "kind": kind, "shape": list(data.shape), "reader": "fabio"})
    entries.append({"file": "speckle/x.tif", "kind": "speckle", "reader": "fabio"})  # not a pattern: skipped
    (tmp_path / "MANIFEST.json").write_text(json.dumps(entries))
    argv = ["bench", "simreal", "--n", "2", "--size", "32", "--epochs", "1", "--models", "tiny"]
    rc = main([*argv, "--manifest", str(tmp_path / "MANIFEST.json"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("per_file_accuracy", "per_frame_accuracy", "files", "frames", "confusion", "classes", "seconds"):
        assert key in out
    assert out["files"] == 3 and out["frames"] == 4 and out["classes"] == list(PATTERNS)
    assert np.asarray(out["confusion"]).sum() == 4 and out["train_frames"] == 6
