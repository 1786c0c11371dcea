"""The classifier training loop: the paper's defaults (Adam, lr 1e-4, cross-entropy, batch 32), in plain sight.

Inputs are model-normalised frames (N, 1, S, S) in [-1, 1]; each batch is resized on the device to the
model's input size, so one cached array serves every architecture. Progress and stop checks every batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress

EpochFn = Callable[[dict], None]


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # per epoch: loss, train_acc, val_loss, val_acc
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"


def _half(device: str) -> torch.dtype | None:
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _batch(x: np.ndarray, idx: np.ndarray, size: int, device: str, flip: np.ndarray | None = None) -> torch.Tensor:
    xb = torch.from_numpy(x[idx]).to(device, non_blocking=True)
    if flip is not None and flip.any():
        f = torch.from_numpy(flip).to(device)
        xb = torch.where(f[:, None, None, None], xb.flip(-1), xb)
    if xb.shape[-1] != size:
        xb = F.interpolate(xb, size=(size, size), mode="bilinear", align_corners=False)
    return xb


def fit(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    input_size: int,
    epochs: int = 5,
    lr: float = 1e-4,
    batch_size: int = 32,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    device: str = "cpu",
    seed: int = 0,
    augment: bool = True,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    on_epoch: EpochFn | None = None,
    label: str = "",
) -> FitResult:
    """Train `model` in place; `on_epoch` gets each epoch's figures as they come (live curves)."""
    if len(x) == 0:
        raise ValueError("training set is empty: label some images first")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model.to(device)
    half = _half(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    n_batches = -(-len(x) // batch_size)
    total = epochs * n_batches
    result = FitResult(device=device)
    t0 = time.perf_counter()
    seen = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(x))
        flips = rng.random(len(x)) < 0.5 if augment else None  # left-right mirror keeps the physics
        losses, correct = [], 0
        for b in range(n_batches):
            check_stop(should_stop)
            idx = order[b * batch_size : (b + 1) * batch_size]
            if len(idx) < 2 and len(x) >= 2:  # batch norm needs two samples; fold a lone last one back in
                idx = order[-2:]
            xb = _batch(x, idx, input_size, device, flips[idx] if flips is not None else None)
            yb = yt[idx].to(device)
            with torch.autocast("cuda", dtype=half, enabled=half is not None):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            progress((epoch - 1) * n_batches + b + 1, total, f"{label} epoch {epoch}/{epochs} loss {losses[-1]:.3f}")
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "train_acc": correct / len(x)}
        if x_val is not None and y_val is not None and len(x_val):
            p = predict_proba(model, x_val, input_size=input_size, device=device, batch_size=batch_size)
            row["val_loss"] = float(F.nll_loss(torch.log(torch.from_numpy(p) + 1e-9), torch.from_numpy(y_val)))
            row["val_acc"] = float(np.mean(p.argmax(1) == y_val))
        result.history.append(row)
        if on_epoch is not None:
            on_epoch(row)
    result.seconds = time.perf_counter() - t0
    result.images_per_s = seen / result.seconds if result.seconds else 0.0
    return result


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    input_size: int,
    device: str = "cpu",
    batch_size: int = 64,
    should_stop: StopFn = never_stop,
) -> np.ndarray:
    """Class probabilities (N, K) in float64."""
    model.to(device).eval()
    half = _half(device)
    out = []
    for start in range(0, len(x), batch_size):
        check_stop(should_stop)
        xb = _batch(x, np.arange(start, min(start + batch_size, len(x))), input_size, device)
        with torch.autocast("cuda", dtype=half, enabled=half is not None):
            logits = model(xb)
        out.append(torch.softmax(logits.float(), 1).cpu().double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
