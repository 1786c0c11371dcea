"""The classifier training loop, in plain sight: optimiser, schedule, early stopping, augmentation.

Inputs are (image, valid) pairs (N, 2, S, S) from `inputs.load_inputs` (a legacy (N, 1, S, S) image array is
taken as fully valid); each batch is augmented as pairs, resized on the device to the model's input size and
turned into the model's channels (`inputs.to_channels`), so one cached array serves every architecture. The
defaults reproduce the paper's recipe (Adam, constant lr, fixed epochs, mirror flips only); `recipes.OURS`
adds weight decay, a cosine schedule, class balance, physics augmentations and early stopping on the fixed
validation set, which restores the best epoch's weights. Progress and stop checks every batch.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .augment import augment_pairs
from .inputs import to_channels

EpochFn = Callable[[dict], None]
Augment = Literal["none", "flip", "physics"]


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # per epoch: loss, train_acc, val_loss, val_acc
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"
    best_epoch: int | None = None  # the epoch whose weights were kept (early stopping), None: the last


def _half(device: str) -> torch.dtype | None:
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def as_pairs(x: np.ndarray) -> np.ndarray:
    """(N, 2, S, S) pairs as they are; a legacy (N, 1, S, S) image array gets an all-valid mask."""
    x = np.asarray(x, np.float32)
    if x.ndim != 4 or x.shape[1] not in (1, 2):
        raise ValueError(f"inputs: expected (N, 1 or 2, S, S), got {x.shape}")
    return x if x.shape[1] == 2 else np.concatenate([x, np.ones_like(x)], 1)


def model_batch(pairs: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Resize pairs to the model's input size and build its channels."""
    if pairs.shape[-1] != size:
        pairs = F.interpolate(pairs, size=(size, size), mode="bilinear", align_corners=False)
    return to_channels(pairs, channels)


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
    augment: bool | Augment = True,
    channels: int = 1,
    weight_decay: float = 0.0,
    schedule: Literal["constant", "cosine"] = "constant",
    patience: int | None = None,
    balance: bool = False,
    label_smoothing: float = 0.0,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    on_epoch: EpochFn | None = None,
    label: str = "",
) -> FitResult:
    """Train `model` in place; `on_epoch` gets each epoch's figures as they come (live curves).

    With `patience` and a validation set, training stops after `patience` epochs without a lower validation
    loss and the weights of the best epoch are restored.
    """
    if len(x) == 0:
        raise ValueError("training set is empty: label some images first")
    mode: Augment = "flip" if augment is True else ("none" if augment is False else augment)
    pairs = as_pairs(x)
    vpairs = as_pairs(x_val) if x_val is not None and len(x_val) else None
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.to(device)
    half = _half(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = (
        torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        if weight_decay
        else torch.optim.Adam(params, lr=lr)
    )
    n_batches = -(-len(pairs) // batch_size)
    total = epochs * n_batches
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=total, pct_start=0.15)
        if schedule == "cosine"
        else None
    )
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    k = int(max(yt.max().item() + 1, getattr(model, "num_classes", 0) or 0))
    counts = torch.bincount(yt, minlength=k).float()
    class_weight = (counts.sum() / (k * counts.clamp_min(1))).to(device) if balance else None
    result = FitResult(device=device)
    best = (np.inf, None, None)
    t0 = time.perf_counter()
    seen = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(pairs))
        losses, correct = [], 0
        for b in range(n_batches):
            check_stop(should_stop)
            idx = order[b * batch_size : (b + 1) * batch_size]
            if len(idx) < 2 and len(pairs) >= 2:  # batch norm needs two samples; fold a lone last one back in
                idx = order[-2:]
            pb = torch.from_numpy(pairs[idx]).to(device, non_blocking=True)
            if mode != "none":
                pb = augment_pairs(
                    pb, gen, max_shift=0.03 if mode == "physics" else 0, exposure=0.15 * (mode == "physics")
                )
            xb = model_batch(pb, input_size, channels)
            yb = yt[idx].to(device)
            with torch.autocast("cuda", dtype=half, enabled=half is not None):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb, weight=class_weight, label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(float(loss.detach()))
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            progress((epoch - 1) * n_batches + b + 1, total, f"{label} epoch {epoch}/{epochs} loss {losses[-1]:.3f}")
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "train_acc": correct / len(pairs)}
        if vpairs is not None and y_val is not None:
            z = predict_logits(model, vpairs, input_size=input_size, device=device, channels=channels)
            row["val_loss"] = float(F.cross_entropy(torch.from_numpy(z), torch.from_numpy(np.asarray(y_val))))
            row["val_acc"] = float(np.mean(z.argmax(1) == y_val))
            if patience is not None and row["val_loss"] < best[0] - 1e-4:
                best = (
                    row["val_loss"],
                    epoch,
                    copy.deepcopy({k_: v.detach().cpu() for k_, v in model.state_dict().items()}),
                )
        result.history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if patience is not None and best[1] is not None and epoch - best[1] >= patience:
            break
    if best[2] is not None:
        model.load_state_dict(best[2])
        result.best_epoch = best[1]
    result.seconds = time.perf_counter() - t0
    result.images_per_s = seen / result.seconds if result.seconds else 0.0
    return result


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module,
    x: np.ndarray,
    *,
    input_size: int,
    device: str = "cpu",
    batch_size: int = 64,
    channels: int = 1,
    should_stop: StopFn = never_stop,
) -> np.ndarray:
    """Raw logits (N, K) in float64."""
    model.to(device).eval()
    half = _half(device)
    pairs = as_pairs(x)
    out = []
    for start in range(0, len(pairs), batch_size):
        check_stop(should_stop)
        pb = torch.from_numpy(pairs[start : start + batch_size]).to(device)
        with torch.autocast("cuda", dtype=half, enabled=half is not None):
            logits = model(model_batch(pb, input_size, channels))
        out.append(logits.float().cpu().double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def predict_proba(model: torch.nn.Module, x: np.ndarray, *, temperature: float = 1.0, **kwargs) -> np.ndarray:
    """Class probabilities (N, K) in float64: softmax of `predict_logits(model, x, **kwargs)` / `temperature`."""
    from .calibrate import softmax

    z = predict_logits(model, x, **kwargs)
    return softmax(z, temperature) if len(z) else z
