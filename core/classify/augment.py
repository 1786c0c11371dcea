"""Augmentations that keep the physics, applied to (image, valid) pairs on the device.

A left-right mirror is another experiment of the same kind (the specular plane and the beam stay where they
are); small shifts move the beam a few pixels as a different sample position would; exposure scaling changes
the count level as a longer or shorter exposure would, which after the log is a shift and a change of range of
the valid pixels. The mask moves with the image in every step, so a gap stays a gap. Vertical flips and
rotations are not used: grazing-incidence patterns have an up and a down (the sample horizon).
"""

from __future__ import annotations

import torch


def augment_pairs(
    pair: torch.Tensor,
    generator: torch.Generator,
    *,
    flip: bool = True,
    max_shift: float = 0.03,
    exposure: float = 0.15,
) -> torch.Tensor:
    """(B, 2, S, S) → augmented copy; randomness from `generator` (on the CPU, so runs repeat on any device)."""
    b, _, s, _ = pair.shape
    out = pair.clone()
    if flip:
        do = torch.rand(b, generator=generator) < 0.5
        if do.any():
            idx = do.nonzero().flatten().to(pair.device)
            out[idx] = out[idx].flip(-1)
    shift = int(round(max_shift * s))
    if shift > 0:
        dys = torch.randint(-shift, shift + 1, (b,), generator=generator).tolist()
        dxs = torch.randint(-shift, shift + 1, (b,), generator=generator).tolist()
        for i, (dy, dx) in enumerate(zip(dys, dxs, strict=True)):
            if dy or dx:
                out[i] = _shift(out[i], dy, dx)
    if exposure > 0:
        scale = 1 + (torch.rand(b, generator=generator) * 2 - 1) * exposure
        offset = (torch.rand(b, generator=generator) * 2 - 1) * exposure
        scale, offset = scale.to(pair.device).view(b, 1, 1), offset.to(pair.device).view(b, 1, 1)
        valid = out[:, 1] > 0.5
        out[:, 0] = torch.where(valid, ((out[:, 0] + 1) * scale - 1 + offset).clamp(-1, 1.5), out[:, 0])
    return out


def _shift(pair: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Translate (2, S, S) by whole pixels; what comes in from outside the frame is invalid (0, 0)."""
    out = torch.zeros_like(pair)
    s = pair.shape[-1]
    ys, yd = (slice(0, s - dy), slice(dy, s)) if dy >= 0 else (slice(-dy, s), slice(0, s + dy))
    xs, xd = (slice(0, s - dx), slice(dx, s)) if dx >= 0 else (slice(-dx, s), slice(0, s + dx))
    out[:, yd, xd] = pair[:, ys, xs]
    return out
