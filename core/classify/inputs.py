"""Classifier inputs that survive any detector: padded to square, robust log scale, mask beside the image.

A network sees (image, valid) pairs at a square size: the frame's log counts scaled by percentiles of its
valid pixels (one hot pixel or a saturated beamstop edge cannot flatten the rest, as scaling by the maximum
does), masked pixels 0 and, beside it, the valid-pixel map, so a gap or a round detector's dark outside is
never mistaken for a dark region of the pattern. Non-square frames (strips, tall multi-module detectors) are
padded to a square with invalid pixels, keeping the aspect ratio that the physics depends on. Pairs are cached
per image and size; augmentations act on both together and the network's channels are built on the device
(`to_channels`): image, mask and a high-pass of the image that keeps fine structure (rings' edges, gaps,
periodic texture) at any input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..io import resize
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress

CACHE_VERSION = 1


def robust_log(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log1p counts mapped so the 1st and 99.9th percentiles of valid pixels become -1 and 1 (clipped at
    1.5 above); masked pixels 0. Speckle intensities and negative backgrounds are shifted to start at 0."""
    x = np.asarray(data, dtype=np.float64)
    valid = ~mask & np.isfinite(x)
    out = np.zeros(x.shape, np.float32)
    if not valid.any():
        return out
    v = x[valid]
    v = np.log1p(np.clip(v - min(0.0, float(v.min())), 0, None))
    lo, hi = np.percentile(v, [1.0, 99.9])
    scale = hi - lo if hi > lo else 1.0
    out[valid] = np.clip((v - lo) / scale * 2.0 - 1.0, -1.0, 1.5)
    return out


def pad_square(img: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Centre a frame in a square of its longer side (fill outside)."""
    h, w = img.shape
    side = max(h, w)
    if h == w:
        return img
    out = np.full((side, side), fill, dtype=img.dtype)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = img
    return out


def frame_input(data: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """(2, size, size) float32: robust log image and valid fraction, padded to square then resized."""
    x = pad_square(robust_log(data, mask))
    v = pad_square((~mask).astype(np.float32))
    return np.stack([resize(x, size), resize(v, size)]).astype(np.float32)


def image_input(ws, image, size: int) -> np.ndarray:
    """`frame_input` of a workspace image, cached under `cache/classify-inputs/v<N>/<size>/<sha256>.npy`."""
    path = ws.cache / "classify-inputs" / f"v{CACHE_VERSION}" / str(size) / f"{image.sha256}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass
    frame = ws.load_frame(image)
    arr = frame_input(frame.data, frame.mask, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, arr, allow_pickle=False)
    tmp.replace(path)
    return arr


def load_inputs(
    ws, images: Sequence, size: int, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop
) -> np.ndarray:
    """(N, 2, size, size) float32 pairs for `images`."""
    out = np.zeros((len(images), 2, size, size), np.float32)
    for i, image in enumerate(images):
        check_stop(should_stop)
        out[i] = image_input(ws, image, size)
        if i % 25 == 0 or i + 1 == len(images):
            progress(i + 1, len(images), f"inputs {i + 1}/{len(images)}")
    return out


def _gauss_kernel(sigma: float, device) -> torch.Tensor:
    half = max(1, int(3 * sigma))
    t = torch.arange(-half, half + 1, dtype=torch.float32, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def to_channels(pair: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, 2, S, S) image/valid pairs → (B, channels, S, S) network input.

    1: the image alone (the paper's grayscale input); 2: image and mask (-1 invalid, 1 valid); 3: image, mask
    and the image minus its masked Gaussian blur (σ = S/64 px), the fine structure that resizing hides.
    """
    x, v = pair[:, :1], pair[:, 1:2]
    if channels == 1:
        return x
    m = v * 2 - 1
    if channels == 2:
        return torch.cat([x, m], 1)
    k = _gauss_kernel(max(1.0, x.shape[-1] / 64), x.device)
    kx, ky = k.view(1, 1, 1, -1), k.view(1, 1, -1, 1)
    pad = (k.numel() // 2,) * 4

    def blur(t):
        t = F.conv2d(F.pad(t, pad, mode="replicate"), kx)
        return F.conv2d(t, ky)

    smooth = blur(x * v) / blur(v).clamp_min(1e-3)
    hp = (x - smooth) * (v > 0.5)
    return torch.cat([x, m, hp * 4.0], 1)
