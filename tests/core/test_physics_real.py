"""Real detector frames keep looking physical to the physics features (../shared/realdata, MANIFEST kinds)."""

from __future__ import annotations

import pytest

from scatterloop.core.classify.physics import frame_features
from scatterloop.core.io import read_frame

CERIA = "rings/HEXRD-examples/ceria_50x30_740mm_000005_Pilatus2M.hdf5"  # full Pilatus 2M: gaps cross every ring


def _features(realdata, manifest, name: str, index: int = 0) -> dict[str, float]:
    entry = next(e for e in manifest if e["file"] == name)
    reader = entry["reader"]
    dataset = reader.split(":", 1)[1] if reader.startswith("h5py:") else None
    frame = read_frame(realdata / name, index, dataset=dataset)
    return frame_features(frame.data, frame.mask)


def test_module_gaps_along_real_rings_do_not_break_them(realdata, manifest):
    """The Pilatus 2M's module gaps run along arcs of the ceria rings; before gap-hidden stretches counted as
    unknown, the worst ring read 0.04 of its mean (a missing arc)."""
    f = _features(realdata, manifest, CERIA)
    assert f["ring_min_arc"] > 0.8, f["ring_min_arc"]
    assert f["ring_low_fraction"] < 0.02, f["ring_low_fraction"]


@pytest.mark.parametrize(
    ("name", "index"),
    [
        (CERIA, 0),
        ("peaks/HEXRD-examples/LT1_Ne_zr001_00000-fc_GE2.npz", 0),
        ("background/cohere-ui/Staff20-1a_S0054_00199.tif", 0),
    ],
)
def test_real_frames_show_no_texture_line(realdata, manifest, name, index):
    """Counting noise, powder rings and Bragg spots have no narrow spectral line: with a single-window periodogram
    these frames scored 5.1 to 6.5 (above simulated texture patches); the multitaper estimate keeps them low."""
    assert _features(realdata, manifest, name, index)["texture_lines"] < 3.5
