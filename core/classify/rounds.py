"""One round of the human-in-the-loop method: assemble the sets, train each model, vote, record everything.

A round's classifiers start from scratch (or from local ImageNet weights) or continue from the previous
round's checkpoints of the same task, so the paper's scratch-versus-fine-tune comparison can be made. The
run records the sets, every model's curves, validation probabilities and metrics, and the three voting
schemes; the round's record lists its runs. Checkpoints are safetensors under the run's folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from ..embed.autoencoder import pick_device
from ..embed.inputs import load_inputs
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..workspace import Workspace
from .data import Split, assemble
from .registry import ClassifierConfig, create_classifier, input_size_for, save_classifier, spec_of
from .train import fit, predict_proba
from .voting import cross_fitted_weighted, fit_weights, hard_vote, scores, soft_vote

Init = Literal["scratch", "finetune"]
CurveFn = Callable[[str, dict], None]


@dataclass
class RoundParams:
    task: str = "realism"
    models: tuple[str, ...] = ("resnet18",)
    epochs: int = 5
    lr: float = 1e-4  # the paper's Adam learning rate
    batch_size: int = 32
    input_size: int | None = 64  # None: each architecture's published size (224, Inception 299)
    init: Init = "scratch"
    pretrained: dict[str, str] = field(default_factory=dict)  # architecture → local ImageNet weights
    pattern: str | None = None
    round: int | None = None  # None: the current round
    val_fraction: float = 0.2
    device: str | None = None
    seed: int = 0


@dataclass
class RoundResult:
    run_id: int
    round: int
    init: str
    task: str
    classes: list[str]
    sets: dict
    models: dict[str, dict]
    voting: dict[str, dict]
    weights: dict[str, float]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def data_size(params: RoundParams) -> int:
    return int(params.input_size or 224)


def split_arrays(ws: Workspace, split: Split, size: int, progress: ProgressFn, should_stop: StopFn):
    images = {img.id: img for img in ws.store.get_images(split.train_ids + split.val_ids)}
    x, _ = load_inputs(ws, [images[i] for i in split.train_ids], size, progress=progress, should_stop=should_stop)
    xv, _ = load_inputs(ws, [images[i] for i in split.val_ids], size, progress=progress, should_stop=should_stop)
    return x, xv


def previous_checkpoint(ws: Workspace, arch: str, task: str, before_round: int) -> str | None:
    """The latest checkpoint of `arch` for `task` from an earlier round (what fine-tuning continues from)."""
    arts = [
        a
        for a in ws.store.list_artifacts(kind="classifier")
        if a.meta.get("arch") == arch and a.meta.get("task") == task and (a.meta.get("round") or 0) < before_round
    ]
    return arts[-1].path if arts else None


def train_round(
    ws: Workspace,
    params: RoundParams,
    *,
    run_id: int,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    on_epoch: CurveFn | None = None,
) -> RoundResult:
    """Train every model of `params` on this round's set and score models and votes on the validation set."""
    from .registry import load_classifier

    for arch in params.models:
        spec_of(arch)
    if params.init not in ("scratch", "finetune"):
        raise ValueError(f"init: expected 'scratch' or 'finetune', got {params.init!r}")
    t0 = time.perf_counter()
    round_no = params.round or ws.store.current_round()
    split = assemble(ws.store, params.task, pattern=params.pattern, val_fraction=params.val_fraction, seed=params.seed)
    if len(split.val_ids) == 0:
        raise ValueError("validation set is empty: label more images (each class needs two or more)")
    x, xv = split_arrays(ws, split, data_size(params), progress, should_stop)
    device = pick_device(params.device)
    n_batches = -(-len(x) // params.batch_size)
    per_model = params.epochs * n_batches
    total = per_model * len(params.models)
    models: dict[str, dict] = {}
    val_probs = []
    for k, arch in enumerate(params.models):
        check_stop(should_stop)
        size = input_size_for(arch, params.input_size)
        start, pretrained = "scratch", params.pretrained.get(arch)
        if params.init == "finetune":
            prev = previous_checkpoint(ws, arch, params.task, round_no)
            if prev is None:
                raise ValueError(f"{arch}: no checkpoint from an earlier round to fine-tune; train from scratch")
            model, prev_cfg = load_classifier(ws.root / prev)
            if prev_cfg.classes != split.classes:
                raise ValueError(f"{arch}: the earlier round's classes {prev_cfg.classes} differ from {split.classes}")
            size, start = prev_cfg.input_size, f"fine-tuned from {prev}"
        else:
            model = create_classifier(arch, len(split.classes), input_size=size, pretrained=pretrained)
            start = f"ImageNet weights from {pretrained}" if pretrained else "scratch"
        res = fit(
            model,
            x,
            split.train_y,
            input_size=size,
            epochs=params.epochs,
            lr=params.lr,
            batch_size=params.batch_size,
            x_val=xv,
            y_val=split.val_y,
            device=device,
            seed=params.seed + k,
            progress=lambda d, _t, m, k=k: progress(k * per_model + d, total, m),
            should_stop=should_stop,
            on_epoch=(lambda row, arch=arch: on_epoch(arch, row)) if on_epoch else None,
            label=arch,
        )
        probs = predict_proba(model, xv, input_size=size, device=device)
        val_probs.append(probs)
        folder = ws.run_dir(run_id) / "models" / arch
        save_classifier(model.cpu(), ClassifierConfig(arch, split.classes, size, pretrained), folder)
        ws.store.add_artifact(
            "classifier",
            ws.relative(folder),
            run_id=run_id,
            meta={"arch": arch, "task": params.task, "round": round_no, "init": params.init, "classes": split.classes},
        )
        models[arch] = {
            "start": start,
            "input_size": size,
            "history": res.history,
            "images_per_s": round(res.images_per_s, 2),
            "seconds": round(res.seconds, 2),
            "checkpoint": ws.relative(folder),
            "metrics": scores(split.val_y, probs.argmax(1), split.classes, split.positive),
        }
        del model
    stacked = np.stack(val_probs)
    weighted = cross_fitted_weighted(stacked, split.val_y, seed=params.seed)
    weights = fit_weights(stacked, split.val_y)  # for predicting new images; never scored on this data
    voting = {
        "hard": scores(split.val_y, hard_vote(stacked), split.classes, split.positive),
        "soft": scores(split.val_y, soft_vote(stacked).argmax(1), split.classes, split.positive),
        "weighted": scores(split.val_y, weighted.argmax(1), split.classes, split.positive),
    }
    np.savez(
        ws.run_dir(run_id) / "validation.npz",
        ids=np.array(split.val_ids),
        y=split.val_y,
        probs=stacked,
        models=np.array(list(params.models)),
    )
    warnings = []
    if len(split.val_ids) < 30:
        warnings.append(
            f"the validation set holds {len(split.val_ids)} images, so each one moves accuracy by "
            f"{100 / len(split.val_ids):.0f} points; it was fixed from the labels present at this task's first "
            "round: label more before the first round to widen it"
        )
    result = RoundResult(
        run_id=run_id,
        round=round_no,
        init=params.init,
        task=params.task,
        classes=split.classes,
        sets={**split.summary, "train_ids": split.train_ids, "val_ids": split.val_ids},
        models=models,
        voting=voting,
        weights={a: round(float(w), 4) for a, w in zip(params.models, weights, strict=True)},
        seconds=round(time.perf_counter() - t0, 2),
        warnings=warnings,
    )
    ws.store.update_round(round_no, classify_runs=[run_id], training_image_ids=split.train_ids)
    return result


def round_params_json(params: RoundParams) -> dict:
    return {**asdict(params), "models": list(params.models)}
