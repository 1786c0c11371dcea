"""Model inputs: each image log-normalised to [-1, 1] at a square size, with its valid-pixel mask.

Cached per image and size under `cache/inputs/v3/<size>/<sha256>.npz` (v2: processed frames in effective
photon counts; v3: a large frame block-averaged to about four times the size before the anti-aliased resize,
which on a 4000 x 4000 frame took 7-29 s and now well under one), so a second map of the same images
reads small arrays instead of detector files.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence

import numpy as np

from ..atomic import atomic_write
from ..io import model_normalise, resize
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..store import Image
from ..workspace import Workspace


def image_input(ws: Workspace, image: Image, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, valid) for one image: float32 [size, size] in [-1, 1] and a float32 valid-pixel fraction map."""
    path = ws.cache / "inputs" / "v3" / str(size) / f"{image.sha256}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return z["x"], z["valid"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # cut short (a kill, a full disk)
            path.unlink(missing_ok=True)  # made again below
    frame = ws.load_frame(image)
    x = _shrink(
        model_normalise(frame.data, frame.mask, mode="standardise" if image.pattern == "speckle" else "log"), size
    )
    valid = _shrink((~frame.mask).astype(np.float32), size)
    if image.pattern == "speckle":
        x = np.clip(x / 4.0, -1, 1)  # standardised speckle, squeezed into the autoencoder's output range
    path.parent.mkdir(parents=True, exist_ok=True)
    # renamed into place whole: two maps at once never read half a file (a cache: no fsync, a file cut short by a
    # crash is found above and made again)
    with atomic_write(path, sync=False) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, x=x.astype(np.float32), valid=valid.astype(np.float32))
    return x.astype(np.float32), valid.astype(np.float32)


def _shrink(img: np.ndarray, size: int) -> np.ndarray:
    """`img` at size x size: block means by the integer factor that leaves at least four times the size, then
    scikit-image's anti-aliased resize (which, alone on a 4000 x 4000 frame, takes seconds)."""
    k = min(img.shape) // (4 * size)
    if k >= 2:
        h, w = (img.shape[0] // k) * k, (img.shape[1] // k) * k
        img = img[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3), dtype=np.float32)
    return resize(img, size)


def load_inputs(
    ws: Workspace,
    images: Sequence[Image],
    size: int,
    *,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> tuple[np.ndarray, np.ndarray]:
    """Stacked inputs (N, 1, size, size) and valid maps (N, 1, size, size)."""
    xs = np.zeros((len(images), 1, size, size), np.float32)
    vs = np.zeros_like(xs)
    for i, image in enumerate(images):
        check_stop(should_stop)
        xs[i, 0], vs[i, 0] = image_input(ws, image, size)
        if i % 25 == 0 or i + 1 == len(images):
            progress(i + 1, len(images), f"inputs {i + 1}/{len(images)}")
    return xs, vs
