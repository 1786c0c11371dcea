"""Sim-to-real: a rings / peaks / background classifier trained only on wide-domain simulated frames, measured
on every rings, peaks and background frame of a folder described by a MANIFEST.json (per frame and per file:
a stack's frames vote by mean probability, over the frames that hold signal when any does).

Frames become model inputs through the product's own path (`core.classify.inputs.frame_input`: despeckled,
padded to a square, block-averaged then max-pooled so sparse spots survive, robust log scale, valid-pixel map),
and the network is trained by the product's loop (`core.classify.train.fit`) with the training choices of the
pattern task's default recipe (`recipes.PATTERN`: a small ResNet at 96 px, mask and high-pass channels, AdamW,
one-cycle schedule, 40 epochs, physics augmentations, class balance, early stopping on the simulated validation
set), so what is measured here is what `classify train --task pattern` / `classify predict` do by default.

The MANIFEST gives one kind per file, and the headline keys score every frame against it. A rotation scan's
frame cache also holds steps where no grain meets the diffraction condition: what is stored there is isolated
single pixels (noise above the threshold, warm pixels), which the input path removes, so the model sees a blank
frame, exactly what a dark frame gives, and a scientist would call that step empty, not a spot frame. So the
bench also reports, beside the headline keys, the frames without signal (no measured pixel of the input above
the frame's floor: nothing two pixels wide) and the scores with their truth taken as background, and a per-file
vote over the frames that hold signal (a scan is not background because most of its steps are empty).

That vote is the headline `per_file_accuracy`: a blank input carries no information about the file's pattern,
and averaging hundreds of confident "background" answers on empty steps would outvote every step that shows the
scan's spots. A file none of whose frames holds signal is judged by all its frames. The vote over all frames,
blank ones included, stays reported as `per_file_accuracy_all_frames_vote`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from . import step
from .io_bench import machine
from .simreal_domain import domain_report

log = logging.getLogger(__name__)
CLASSES = ("rings", "peaks", "background")
BOUND_NOTE = (
    "per_frame_accuracy scores every frame against its file's MANIFEST kind; frames_without_signal hold nothing two "
    "pixels wide (e.g. a rotation scan's empty steps: isolated hot pixels and threshold crossings), so their right "
    "answer is background, and a model that gives it cannot score above per_frame_accuracy_upper_bound on "
    "per_frame_accuracy; per_frame_accuracy_signal_truth scores them as background"
)


def _sim_mask(counts: np.ndarray, params: dict) -> np.ndarray:
    """The mask `core.io.read_frames` would give this frame: the same rules, not the simulator's knowledge."""
    from ..io import detector_mask, make_mask

    if counts.dtype == np.uint8:
        return make_mask(counts)
    return detector_mask(counts, circular=True if params.get("circular") else None)


def simulated_set(n_per_class: int, size: int, seed: int, sim_sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2, size, size) input pairs and labels from wide-domain frames whose longest side is drawn in `sim_sizes`
    (a range, so the pooling factor varies as it does between a 256- and a 2048-pixel detector)."""
    from ..classify.inputs import frame_input
    from ..simulate.wide import wide_frame

    xs, ys = [], []
    for i in range(n_per_class):
        for c, pattern in enumerate(CLASSES):
            rng = np.random.default_rng([seed, c, i])
            sim_size = int(rng.integers(sim_sizes[0], sim_sizes[1] + 1))
            f = wide_frame(pattern, rng, size=sim_size)
            xs.append(frame_input(f.counts, _sim_mask(f.counts, f.params), size))
            ys.append(c)
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def without_signal(pairs: np.ndarray) -> np.ndarray:
    """(N,) bool: inputs whose measured pixels are all at the floor (-1): nothing survived despeckling, no
    scattering two pixels wide. A blank input; its model output says nothing about the file's pattern."""
    img, valid = pairs[:, 0], pairs[:, 1] > 0
    return ~np.any((img > -1.0) & valid, axis=(1, 2))


def file_vote(p: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """A file's class probabilities: the mean over its frames that hold signal, or over all of them when none
    does (a blank frame says nothing about the file's pattern)."""
    return p[~blank].mean(0) if np.any(~blank) else p.mean(0)


def real_set(manifest: Path, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict], list[dict]]:
    """Every frame of every rings / peaks / background file in the manifest, read through `read_frames`, and the
    entries left out (a malformed entry or a file that cannot be read: a one-line reason each)."""
    from ..classify.inputs import frame_input
    from .manifest import load_manifest, read_entry

    entries, skipped = load_manifest(manifest)
    xs, ys, fidx, files = [], [], [], []
    for e in entries:
        if e["kind"] not in CLASSES:
            continue
        pairs = read_entry(manifest, e, skipped, lambda frame: frame_input(frame.data, frame.mask, size))
        if pairs is None:
            continue
        xs += pairs
        ys += [CLASSES.index(e["kind"])] * len(pairs)
        fidx += [len(files)] * len(pairs)
        files.append({"file": e["file"], "kind": e["kind"], "frames": len(pairs)})
    if not xs:
        raise ValueError(f"{manifest}: no readable rings, peaks or background frames ({len(skipped)} entries skipped)")
    return np.stack(xs), np.asarray(ys, dtype=np.int64), np.asarray(fidx), files, skipped


def bench_simreal(
    n: int = 800,
    size: int | None = None,
    seed: int = 0,
    epochs: int | None = None,
    models: str | None = None,
    manifest: str | Path | None = None,
    sim_size: str = "96,320",
    lr: float | None = None,
    batch_size: int | None = None,
    channels: int | None = None,
    baseline_n: int = 100,
) -> dict:
    """Train on `n` simulated frames per class (plus n/5 for validation), classify the manifest's frames. Every
    training choice left None is the pattern task's default recipe's (`recipes.PATTERN`).

    Args:
        n: simulated training frames per class.
        size: model input size (pixels).
        epochs: training epochs.
        models: one registry name.
        manifest: a MANIFEST.json (default ../shared/realdata's).
        sim_size: "lo,hi" range of the simulated frames' longest side.
        lr: peak learning rate of the one-cycle schedule.
        channels: input channels (default: the recipe's, image + mask + high-pass).
        baseline_n: default-domain frames per class for the domain check's baseline network (0: none).
    """
    import torch

    from ..classify import create_classifier, fit, predict_proba
    from ..classify.recipes import PATTERN as rec  # the pattern task's default recipe

    size = int(size or rec.input_size)
    epochs = int(epochs or rec.epochs)
    models = models or rec.models[0]
    lr = float(lr or rec.lr)
    batch_size = int(batch_size or rec.batch_size)
    manifest = Path(manifest) if manifest else Path(__file__).resolve().parents[3] / "shared/realdata/MANIFEST.json"
    lo_hi = tuple(int(v) for v in str(sim_size).split(","))
    if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1] or lo_hi[0] < 8:
        raise ValueError(f"sim_size: expected 'lo,hi' with 8 <= lo <= hi, got {sim_size!r}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t2 = time.perf_counter()  # the real frames first: a manifest that gives nothing fails before any training
    stages = epochs + 4  # reading, simulating, each epoch, classifying, the domain check
    step(0, stages, "reading the manifest's frames")
    xr, yr, fidx, files, skipped = real_set(manifest, size)
    t_read = time.perf_counter() - t2
    step(1, stages, "simulating the training frames")
    t0 = time.perf_counter()
    x, y = simulated_set(n, size, seed, lo_hi)
    x_val, y_val = simulated_set(max(1, n // 5), size, seed + 10_000, lo_hi)
    t_sim = time.perf_counter() - t0
    channels = int(channels or rec.channels)
    torch.manual_seed(seed)  # the network's initial weights too: one seed, one number
    model = create_classifier(models, len(CLASSES), input_size=size, in_chans=channels)
    t1 = time.perf_counter()
    fit_kwargs = dict(
        input_size=size, epochs=epochs, lr=lr, batch_size=batch_size, device=device, channels=channels,
        augment=rec.augment, weight_decay=rec.weight_decay, schedule=rec.schedule, patience=rec.patience,
        balance=rec.balance, label_smoothing=rec.label_smoothing,
    )  # fmt: skip
    hist = fit(
        model, x, y, x_val=x_val, y_val=y_val, seed=seed, **fit_kwargs,
        on_epoch=lambda row: step(2 + int(row.get("epoch", 0)), stages, f"training epoch {row.get('epoch')}/{epochs}"),
    )  # fmt: skip
    t_train = time.perf_counter() - t1
    step(stages - 2, stages, "classifying the manifest's frames")
    p = predict_proba(model, xr, input_size=size, device=device, batch_size=64, channels=channels)
    pred = p.argmax(1)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    np.add.at(confusion, (yr, pred), 1)
    blank = without_signal(xr)
    y_sig = np.where(blank, CLASSES.index("background"), yr)  # an empty frame's truth: background
    confusion_sig = np.zeros_like(confusion)
    np.add.at(confusion_sig, (y_sig, pred), 1)
    per_file = []
    for i, f in enumerate(files):
        m = fidx == i
        ps, pf = file_vote(p[m], blank[m]), p[m].mean(0)
        per_file.append({
            **f, "predicted": CLASSES[int(ps.argmax())], "predicted_all_frames_vote": CLASSES[int(pf.argmax())],
            "frames_right": int(np.sum(pred[m] == yr[m])),
            "frames_without_signal": int(np.sum(m & blank)),
            "frames_with_signal_right": int(np.sum((pred[m] == yr[m]) & ~blank[m])),
        })  # fmt: skip
    t3 = time.perf_counter()
    step(stages - 1, stages, "domain check")
    x_test, y_test = simulated_set(max(1, n // 10), size, seed + 20_000, lo_hi)
    domain = domain_report(
        model,
        {"manifest": manifest, "classes": CLASSES, "train": (x, y), "val": (x_val, y_val), "test": (x_test, y_test),
         "real": (xr, yr, fidx)},
        baseline_n=baseline_n, fit_kwargs={**fit_kwargs, "arch": models}, seed=seed,
    )  # fmt: skip
    t_domain = time.perf_counter() - t3
    file_ok = [r["predicted"] == r["kind"] for r in per_file]
    file_all_ok = [r["predicted_all_frames_vote"] == r["kind"] for r in per_file]
    return {
        "bench": "simreal",
        "classes": list(CLASSES),
        "per_file_accuracy": round(float(np.mean(file_ok)), 4),
        "per_frame_accuracy": round(float(np.mean(pred == yr)), 4),
        "per_class_frame_accuracy": {
            c: round(float(np.mean(pred[yr == k] == k)), 4) for k, c in enumerate(CLASSES) if np.any(yr == k)
        },
        "files": len(files),
        "frames": int(len(yr)),
        "confusion": confusion.tolist(),
        "per_file": per_file,
        "skipped": skipped,
        "frames_without_signal": int(blank.sum()),
        "per_frame_accuracy_signal_truth": round(float(np.mean(pred == y_sig)), 4),
        "per_frame_accuracy_frames_with_signal": round(float(np.mean(pred[~blank] == yr[~blank])), 4)
        if np.any(~blank)
        else None,
        "per_file_accuracy_all_frames_vote": round(float(np.mean(file_all_ok)), 4),
        # the headline per-frame score a model reaches when it calls every frame with signal right and every blank
        # frame background (what it is): blank frames of a file whose kind is not background count as wrong
        "per_frame_accuracy_upper_bound": round(float(np.mean(y_sig == yr)), 4),
        "per_frame_accuracy_note": BOUND_NOTE,
        "confusion_signal_truth": confusion_sig.tolist(),
        "domain": domain,
        "sim_val_accuracy": hist.history[(hist.best_epoch or len(hist.history)) - 1].get("val_acc"),
        "best_epoch": hist.best_epoch,
        "train_frames": int(len(y)),
        "val_frames": int(len(y_val)),
        "train_per_class": n,
        "model": models,
        "input_size": size,
        "sim_size": list(lo_hi),
        "epochs": epochs,
        "lr": lr,
        "channels": channels,
        "recipe": {k: getattr(rec, k) for k in ("augment", "weight_decay", "schedule", "patience", "balance")},
        "device": device,
        "seconds": {
            "simulate": round(t_sim, 1),
            "train": round(t_train, 1),
            "read_real": round(t_read, 1),
            "domain": round(t_domain, 1),
            "total": round(time.perf_counter() - t0 + t_read, 1),
        },
        "manifest": str(manifest),
        "machine": machine(),
    }
