"""What an HDF5/NeXus file says of its detector beside the frames: the pixel mask and the saturation level.

NeXus NXmx keeps them in the NXdetector group (`pixel_mask`, `saturation_value`); a DECTRIS Eiger master file in
its `detectorSpecific` group (`pixel_mask`, `countrate_correction_count_cutoff`). A pixel the mask flags (any bit:
gap, dead, under- or over-responding, noisy, virtual, user-defined) holds no measurement, also where the detector
wrote a plausible count: an Eiger written with `pixel_mask_applied` false keeps its hot pixels' counts, which a
frame's own values cannot tell from a Bragg spot. Both are read from the file that holds (or links to) the frames,
and `io_hdf5_copy.materialise` copies them beside the frames it makes self-contained.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .io_safety import one_line

log = logging.getLogger(__name__)

MASK_NAMES = frozenset({"pixel_mask"})
SATURATION_NAMES = frozenset({"saturation_value", "countrate_correction_count_cutoff"})
MAX_MASKED = 0.5  # a pixel mask flagging more of the detector than this is not one (a flat field, an inverted mask)


def detector_datasets(f, frame_shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """(pixel masks, saturation levels): the names of the datasets of file `f` (hard links only; external files
    are not opened) that are a pixel mask of frames of `frame_shape` (integer or boolean, that shape, optionally
    with leading axes of length 1) or a positive scalar saturation level, each sorted by name."""
    import h5py

    shape = tuple(int(n) for n in frame_shape[-2:])
    masks: list[str] = []
    levels: list[str] = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        leaf = name.rpartition("/")[2]
        if leaf in MASK_NAMES and obj.dtype.kind in "iub" and obj.ndim >= 2:
            if tuple(obj.shape[-2:]) == shape and math.prod(obj.shape[:-2]) == 1:
                masks.append("/" + name)
        elif leaf in SATURATION_NAMES and obj.dtype.kind in "iuf" and obj.size == 1:
            levels.append("/" + name)

    f.visititems(visit)
    return sorted(masks), sorted(levels)


def detector_meta(f, frame_shape: tuple[int, ...], where: str = "") -> dict:
    """`{"pixel_mask": bool array or None, "overload": float or None}` from `detector_datasets`: the union of the
    pixel masks found (a mask flagging more than `MAX_MASKED` of the pixels is left out, with a warning), and the
    count from which a pixel is invalid: above the smallest positive saturation level (NXmx: "invalid above this
    value"), so the overload is its integer part plus one. Anything unreadable is left out (debug log): the
    frames still read."""
    out: dict = {"pixel_mask": None, "overload": None}
    try:
        masks, levels = detector_datasets(f, frame_shape)
        for name in masks:
            flagged = np.asarray(f[name][()]).reshape(tuple(frame_shape[-2:])) != 0
            if flagged.mean() > MAX_MASKED:
                log.warning(
                    "%s: %s flags %.0f %% of the pixels: not taken for a pixel mask",
                    one_line(where),
                    one_line(name),
                    100 * flagged.mean(),
                )
                continue
            out["pixel_mask"] = flagged if out["pixel_mask"] is None else out["pixel_mask"] | flagged
        values = [float(np.asarray(f[name][()]).reshape(-1)[0]) for name in levels]
        values = [v for v in values if np.isfinite(v) and v > 0]
        out["overload"] = float(math.floor(min(values)) + 1) if values else None
    except Exception:  # metadata never stops the frames being read
        log.debug("%s: detector metadata not read", one_line(where), exc_info=True)
        return {"pixel_mask": None, "overload": None}
    return out


def copy_detector_meta(src_file, out_file, frame_shape: tuple[int, ...]) -> None:
    """Copy `src_file`'s pixel masks and saturation levels (`detector_datasets`) into `out_file` under the same
    names, so a materialised copy of the frames keeps them."""
    masks, levels = detector_datasets(src_file, frame_shape)
    for name in masks + levels:
        if name not in out_file:
            out_file.create_dataset(name, data=src_file[name][()])
