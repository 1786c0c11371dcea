"""Classifier inputs that survive any detector: padded to square, pooled so sparse spots survive, robust log
scale, mask beside the image.

A network sees (image, valid) pairs at a square size. Non-square frames (strips, tall multi-module detectors)
are padded to a square with invalid pixels, keeping the aspect ratio that the physics depends on. The square is
brought to `POOL` times the model's size (a valid-weighted block mean by an integer factor, then a mild
resize) and max-pooled by `POOL`: a Bragg spot one pixel wide on a 2048-pixel panel, or a zero-suppressed
frame whose few stored pixels are its only content, survives (an anti-aliased resize to 128 px averages it
away), and noise looks alike on a 256- and a 2048-pixel detector because every input pixel is the maximum of
the same number of block means. The pooled counts are log-scaled and mapped so the 1st and 99.5th percentiles
of valid pixels become -1 and 1 (clipped at 1.5 above): one hot pixel or a saturated beamstop edge cannot
flatten the rest, as scaling by the maximum does, and a minimum contrast (`MIN_CONTRAST`, for block means of
k x k pixels `min_contrast(k)`: their noise is 1/k of a pixel's) keeps a featureless frame featureless instead of
stretching its Poisson noise into texture. Masked pixels are 0 and, beside the
image, the valid fraction says where the detector measured, so a gap or a round detector's dark outside is
never mistaken for a dark region of the pattern. Pairs are cached per image and size; augmentations act on
both together and the network's channels are built on the device (`to_channels`): image, mask and a high-pass
of the image that keeps fine structure (rings' edges, gaps, periodic texture) at any input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..io import resize
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..photons import counts_like, photon_scale

# 2: pooled (block mean, then max-pool) instead of resized; 3: despeckled; 4: min_contrast(k);
# 5: round active areas masked from the data in any format; 6: processed frames in effective photon counts
CACHE_VERSION = 6
POOL = 4  # frames are brought to POOL * size pixels, then max-pooled by POOL
MIN_CONTRAST = float(np.log1p(20.0))  # 20 counts over the floor are needed to span the full scale


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


def _block_mean(x: np.ndarray, ok: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Valid-weighted mean and valid fraction over k x k blocks (the side is a multiple of k)."""
    side = x.shape[0] // k
    n_ok = ok.reshape(side, k, side, k).sum(axis=(1, 3), dtype=np.float32)
    total = x.reshape(side, k, side, k).sum(axis=(1, 3), dtype=np.float64)
    return (total / np.maximum(n_ok, 1)).astype(np.float32), n_ok / (k * k)


def despeckle(x: np.ndarray) -> np.ndarray:
    """Each pixel clipped to its brightest neighbour: single-pixel events (hot and warm pixels, zingers, noise
    above a frame cache's threshold) vanish, while scattering, which the detector's point-spread and the
    spot's own size spread over at least two pixels, stays. The spatial analogue of scaling by percentiles
    rather than the maximum; without it a 2048-pixel panel's warm pixels look like Bragg spots once pooled."""
    pad = np.pad(x, 1)
    h, w = x.shape
    around = np.zeros_like(x)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                np.maximum(around, pad[dy : dy + h, dx : dx + w], out=around)
    return np.minimum(x, around)


def block_factor(shape: tuple[int, ...], size: int) -> int:
    """The integer block-mean factor `pooled_counts` uses for a frame of `shape` (1: no block mean)."""
    return max(1, max(shape[-2:]) // (POOL * size))


def min_contrast(k: int) -> float:
    """`MIN_CONTRAST` for block means of k x k pixels: their counting noise is 1/k of one pixel's, so an excess
    of 20/k counts in a mean is as significant as 20 counts in one pixel. Without it a Bragg spot of a few
    native pixels on a 2048-pixel panel, diluted k^2-fold by the block mean, stays grey while the same spot on
    a small detector (or a simulated frame of the panel at a reduced size) spans the scale."""
    return float(np.log1p(20.0 / max(1, k)))


def pooled_counts(data: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, valid fraction), each (size, size): the frame despeckled, padded to a square, block-averaged to
    POOL * size pixels (an integer factor, then a mild resize) and max-pooled by POOL (valid fraction:
    mean-pooled).
    Masked and non-finite pixels carry no counts; negative backgrounds are shifted to start at 0."""
    x = np.asarray(data, dtype=np.float32)
    ok = ~np.asarray(mask, bool) & np.isfinite(x)
    if not ok.any():
        return np.zeros((size, size), np.float32), np.zeros((size, size), np.float32)
    floor = min(0.0, float(x[ok].min()))
    x = despeckle(np.where(ok, x - floor, 0.0).astype(np.float32))
    h, w = x.shape
    fine = POOL * size  # the grid the max-pool works on, the same for every detector
    k = block_factor(x.shape, size)
    side = -(-max(h, w) // k) * k
    top, left = (side - h) // 2, (side - w) // 2
    sq = np.zeros((side, side), np.float32)
    sq[top : top + h, left : left + w] = x
    okf = np.zeros((side, side), bool)
    okf[top : top + h, left : left + w] = ok
    if k > 1:  # single-pixel noise of a large frame averages out; a spot keeps a share of its counts
        sq, frac = _block_mean(sq, okf, k)
    else:
        frac = okf.astype(np.float32)
    if sq.shape[0] != fine:
        sq = np.clip(resize(sq, fine), 0, None)
        frac = np.clip(resize(frac, fine), 0, 1)
    counts = sq.reshape(size, POOL, size, POOL).max(axis=(1, 3))  # the max keeps a spot one fine pixel wide
    valid = frac.reshape(size, POOL, size, POOL).mean(axis=(1, 3))
    return counts.astype(np.float32), valid.astype(np.float32)


def frame_input(data: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """(2, size, size) float32: the pooled frame on a robust log scale (-1 at the 1st percentile of valid
    pixels, 1 at the 99.5th or `min_contrast` above the 1st, clipped to [-1, 1.5]; 0 where nothing was
    measured) and the valid fraction. The same for every frame the product classifies, simulated or real."""
    data = np.asarray(data)
    # counts, whose scale `MIN_CONTRAST` may assume: integers, whole-number floats, and processed frames once
    # read in effective photon counts (`photons`); a noise-free float image has no known unit and no minimum
    scale = photon_scale(data, mask)
    counts_ok = scale != 1.0 or counts_like(data, ~np.asarray(mask, bool) & np.isfinite(data))
    if scale != 1.0:
        data = np.asarray(data, np.float64) / scale  # float16 would overflow
    counts, valid = pooled_counts(data, mask, size)
    img = np.zeros((size, size), np.float32)
    ok = valid > 0
    if ok.any():
        v = np.log1p(counts)
        lo, hi = np.percentile(v[ok], [1.0, 99.5])
        floor = min_contrast(block_factor(data.shape, size)) if counts_ok else 1e-6
        hi = max(float(hi), float(lo) + floor)
        img[ok] = np.clip((v[ok] - lo) / (hi - lo) * 2.0 - 1.0, -1.0, 1.5)
    return np.stack([img, valid]).astype(np.float32)


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
