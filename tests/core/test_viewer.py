"""The full-resolution viewer's core: frame cache, windowing, downsampling, regions and pixel look-up."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from scatterloop.core.ingest import import_paths
from scatterloop.core.viewer import (
    Region,
    Window,
    block_mean,
    cached_frame,
    colour_ticks,
    pixel_info,
    region_from_ranges,
    render,
    view_png,
)


def _import_array(ws, tmp_path, arr: np.ndarray, name: str = "frame.npy") -> int:
    path = tmp_path / name
    np.save(path, arr)
    res = import_paths(ws, [path], source="experimental")
    return res.image_ids[0]


def test_cache_holds_the_exact_values_and_mask(workspace, tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.poisson(50, (300, 200)).astype(np.int32)
    arr[100:110, :] = -1  # a detector gap
    image_id = _import_array(workspace, tmp_path, arr)
    data, mask, stats = cached_frame(workspace, image_id)
    np.testing.assert_array_equal(np.asarray(data), arr)
    np.testing.assert_array_equal(np.asarray(mask), arr < 0)
    valid = arr[arr >= 0]
    assert stats["valid"] == valid.size
    assert stats["quantiles"][500] == pytest.approx(np.median(valid))
    # the second read comes from the cache, memory-mapped
    again, _, _ = cached_frame(workspace, image_id)
    assert isinstance(again, np.memmap)


def test_window_percentiles_and_log_scale(workspace, tmp_path):
    arr = np.arange(1, 10001, dtype=np.float32).reshape(100, 100)
    image_id = _import_array(workspace, tmp_path, arr)
    view = render(workspace, image_id, Window(scale="linear", low=10, high=90))
    assert view.vmin == pytest.approx(np.percentile(arr, 10), rel=1e-3)
    assert view.vmax == pytest.approx(np.percentile(arr, 90), rel=1e-3)
    # linear: the first row is below the clip (0), the last above (255), the middle half way
    assert view.level[0].max() == 0 and view.level[-1].min() == 255
    assert abs(int(view.level[50, 0]) - 128) <= 2
    log_view = render(workspace, image_id, Window(scale="log", low=0, high=100))
    # log: 100 sits at log10(100)/log10(10000) = half way up the bar
    row, col = divmod(99, 100)
    assert abs(int(log_view.level[row, col]) - 128) <= 2
    ticks = dict((round(v), p) for p, v in log_view.ticks)
    assert ticks[100] == pytest.approx(0.5) and ticks[1] == 0.0 and ticks[10000] == pytest.approx(1.0)


def test_downsample_and_full_resolution_region(workspace, tmp_path):
    arr = np.zeros((2048, 2048), dtype=np.int32) + 10
    arr[1000, 1500] = 5000  # one hot pixel
    arr[:, 700:720] = -1  # a gap 20 px wide
    image_id = _import_array(workspace, tmp_path, arr)
    whole = render(workspace, image_id, Window(scale="linear", low=0, high=100), max_side=1024)
    assert whole.step == 2 and whole.level.shape == (1024, 1024)
    assert whole.masked[:, 350:360].all() and not whole.masked[:, 340].any()
    # zoom into 200x100 pixels: full resolution, the hot pixel exactly where it is
    region = region_from_ranges(2048, 2048, xrange=(1449.5, 1549.5), yrange=(1099.5, 899.5))
    assert region == Region(1450, 900, 1550, 1100)
    zoom = render(workspace, image_id, Window(scale="linear", low=0, high=100), region=region)
    assert zoom.step == 1 and zoom.level.shape == (200, 100)
    assert zoom.level[100, 50] == 255 and zoom.level[0, 0] == 0
    # without the mask overlay the gap is drawn with its stored values (clipped), not flagged
    plain = render(workspace, image_id, Window(scale="linear", low=0, high=100, show_mask=False), max_side=1024)
    assert not plain.masked.any()
    png = view_png(zoom, np.stack([np.arange(256)] * 3, axis=1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_block_mean_ignores_nan_and_pads_edges():
    v = np.array([[1, 3, 5], [np.nan, 2, 7]], dtype=np.float32)
    out = block_mean(v, 2)
    assert out.shape == (1, 2)
    assert out[0, 0] == pytest.approx(2.0) and out[0, 1] == pytest.approx(6.0)


def test_linear_ticks_are_round_and_inside():
    ticks = colour_ticks(3.0, 97.0, "linear")
    values = [v for _, v in ticks]
    assert values[0] == 3.0 and values[-1] == 97.0
    assert values[1:-1] == [25.0, 50.0, 75.0]  # a round step (25) inside the window
    assert all(0.0 <= p <= 1.0 for p, _ in ticks)


def test_pixel_info_value_mask_and_bad_position(workspace, tmp_path):
    arr = np.arange(64 * 48, dtype=np.int32).reshape(64, 48)
    arr[5, 7] = -2
    image_id = _import_array(workspace, tmp_path, arr)
    info = pixel_info(workspace, image_id, x=10.2, y=20.7)
    assert (info.row, info.col, info.value, info.masked) == (21, 10, float(arr[21, 10]), False)
    assert pixel_info(workspace, image_id, 7, 5).masked
    assert info.q is None and info.calibration is None
    with pytest.raises(ValueError, match="outside"):
        pixel_info(workspace, image_id, 48, 0)
    with pytest.raises(ValueError, match="region"):
        render(workspace, image_id, region=Region(0, 0, 49, 10))
    with pytest.raises(ValueError, match="percentile"):
        Window(low=50, high=10)


def test_q_and_chi_from_a_real_calibration_match_pyfai(workspace, realdata):
    """A real Pilatus 1M frame with its pyFAI calibration: q and chi at a pixel equal pyFAI's own arrays."""
    res = import_paths(workspace, [realdata / "rings" / "silx-training" / "Pilatus1M.edf"], source="experimental")
    image_id = res.image_ids[0]
    (workspace.root / "calibration").mkdir()
    shutil.copy(
        realdata / "calibration" / "pyFAI" / "Pilatus1M_pyFAI_test.poni",
        workspace.root / "calibration" / "default.poni",
    )
    info = pixel_info(workspace, image_id, x=600, y=400)
    assert info.calibration == "default.poni"
    from scatterloop.core.geometry.readers import read_calibration

    ai = read_calibration(workspace.root / "calibration" / "default.poni").integrator()
    shape = (1043, 981)
    assert info.q == pytest.approx(ai.qArray(shape)[400, 600] / 10.0, rel=1e-4)
    assert info.chi == pytest.approx(np.degrees(ai.chiArray(shape)[400, 600]), abs=1e-3)
    assert 0 < info.q < 5
