"""One round of the human-in-the-loop method: assemble the sets, train each model, calibrate, vote, record.

A round follows a named recipe (`recipes.OURS` by default, `recipes.PATTERN` for the pattern task,
`recipes.PAPER` for the published one) whose fields a caller may override. Networks start from scratch (or
from local ImageNet weights) or continue from the previous round's checkpoints of the same task, so the
paper's scratch-versus-fine-tune comparison can be made; the physics model re-fits in a second either way.
Every model's probabilities are temperature-calibrated on the task's fixed validation set before they are
scored and voted. Models are written under temporary names and registered only when the whole round has
finished, so a killed round registers nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from ..atomic import atomic_dir
from ..embed.autoencoder import pick_device
from ..jobs import Plan, ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..workspace import Workspace
from .calibrate import fit_temperature, nll, softmax
from .data import PATTERN_SOURCES, Split, assemble
from .doubt import configure_physics, doubted, doubted_labels, out_of_fold
from .features_data import feature_inputs, to_compute
from .inputs import load_inputs
from .recipes import Recipe, default_recipe, recipe
from .registry import ClassifierConfig, create_classifier, input_size_for, save_classifier, spec_of
from .voting import (
    check_positive_cost,
    cross_fitted_weighted,
    decide,
    decision_costs,
    decision_record,
    fit_weights,
    hard_vote,
    scores,
    soft_vote,
)

Init = Literal["scratch", "finetune"]
CurveFn = Callable[[str, dict], None]


@dataclass
class RoundParams:
    """A round: the task, the recipe and any field of it overridden (None: the recipe's value)."""

    task: str = "realism"
    recipe: str | None = None  # None: the task's default (`recipes.default_recipe`)
    models: tuple[str, ...] | None = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    input_size: int | None = None
    init: Init = "scratch"
    pretrained: dict[str, str] = field(default_factory=dict)  # architecture → local ImageNet weights
    pattern: str | None = None
    sources: tuple[str, ...] = PATTERN_SOURCES  # pattern task: the image sources it learns from
    round: int | None = None  # None: the current round
    encoder: bool | None = None  # start networks from the latest pretrained encoder (None: as the recipe says)
    positive_cost: float | None = None  # cost of a false positive ("realistic") call (None: as the recipe says)
    val_fraction: float = 0.2
    device: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.positive_cost is not None:  # refused where a round is asked for (tab, CLI, API), before any run
            check_positive_cost(self.positive_cost)

    def resolved(self) -> Recipe:
        return recipe(
            self.recipe or default_recipe(self.task),
            models=tuple(self.models) if self.models else None,
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            input_size=self.input_size,
            encoder=self.encoder,
            positive_cost=self.positive_cost,
        )


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
    recipe: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    doubted: list[dict] = field(default_factory=list)  # labels to look at again (`doubt.doubted_labels`)
    decision: dict = field(default_factory=dict)  # how calls are made from probabilities (`decision_record`)


FEATURE_UNITS = 20  # a physics model's share of a round's bar: features 12, fit 2, the label check 6
NEW_FEATURE_UNITS = 1.3  # and per frame whose features are not cached yet: ~0.4 s each, where a unit is ~0.3 s
LOAD_UNITS = 5  # reading the networks' inputs


def previous_checkpoint(ws: Workspace, arch: str, task: str, before_round: int) -> str | None:
    """The latest checkpoint of `arch` for `task` from an earlier, finished round (what fine-tuning continues)."""
    arts = [
        a
        for a in ws.store.list_artifacts(kind="classifier")
        if a.meta.get("arch") == arch and a.meta.get("task") == task and (a.meta.get("round") or 0) < before_round
    ]
    return arts[-1].path if arts else None


def _network(ws, params: Recipe, arch: str, split: Split, init: str, round_no: int, task: str, pretrained):
    """(model, input size, where it started) for a network of this round."""
    from .registry import load_classifier

    size = input_size_for(arch, params.input_size)
    if init == "finetune":
        prev = previous_checkpoint(ws, arch, task, round_no)
        if prev is None:
            raise ValueError(f"{arch}: no checkpoint from an earlier round to fine-tune; train from scratch")
        model, prev_cfg = load_classifier(ws.root / prev)
        if prev_cfg.classes != split.classes:
            raise ValueError(f"{arch}: the earlier round's classes {prev_cfg.classes} differ from {split.classes}")
        if prev_cfg.channels != params.channels:
            raise ValueError(
                f"{arch}: the earlier round used {prev_cfg.channels} input channels, this recipe "
                f"{params.channels}; train from scratch"
            )
        return model, prev_cfg.input_size, f"fine-tuned from {prev}"
    model = create_classifier(
        arch, len(split.classes), input_size=size, pretrained=pretrained, in_chans=params.channels
    )
    if not pretrained and params.encoder:
        from .pretrain import init_from_encoder, latest_encoder

        if (enc := latest_encoder(ws, arch, params.channels)) is not None:
            init_from_encoder(model, ws.root / enc)
            return model, size, f"pretrained encoder {enc}"
    return model, size, (f"ImageNet weights from {pretrained}" if pretrained else "scratch")


def preflight(ws: Workspace, params: RoundParams, round_no: int) -> None:
    """The refusals a round would make before training, for a round of number `round_no` (the next one, where
    --next-round or the tab's switch opens it first): a round refused then leaves no empty round behind."""
    from .registry import load_classifier

    rec = params.resolved()
    for arch in rec.models:
        spec_of(arch)
    if params.init not in ("scratch", "finetune"):
        raise ValueError(f"init: expected 'scratch' or 'finetune', got {params.init!r}")
    split = assemble(
        ws.store, params.task, pattern=params.pattern, sources=tuple(params.sources), val_fraction=params.val_fraction,
        seed=params.seed,
    )  # fmt: skip
    if len(split.val_ids) == 0:
        raise ValueError("validation set is empty: label more images (each class needs two or more)")
    if params.init != "finetune":
        return
    for arch in (a for a in rec.models if spec_of(a).library in ("timm", "torchvision")):
        prev = previous_checkpoint(ws, arch, params.task, round_no)
        if prev is None:
            raise ValueError(f"{arch}: no checkpoint from an earlier round to fine-tune; train from scratch")
        cfg = load_classifier(ws.root / prev)[1]
        if cfg.classes != split.classes:
            raise ValueError(f"{arch}: the earlier round's classes {cfg.classes} differ from {split.classes}")
        if cfg.channels != rec.channels:
            raise ValueError(
                f"{arch}: the earlier round used {cfg.channels} input channels, this recipe {rec.channels}; train "
                "from scratch"
            )


def train_round(
    ws: Workspace,
    params: RoundParams,
    *,
    run_id: int,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    on_epoch: CurveFn | None = None,
) -> RoundResult:
    """Train every model of the round's recipe, calibrate and score models and votes on the validation set."""
    import torch

    from .domain import network_domain
    from .featmodel import feature_logits
    from .forest import fit_physics
    from .train import fit, predict_logits

    rec = params.resolved()  # a Recipe checks its own cost, so a bad one fails here, before any work
    for arch in rec.models:
        spec_of(arch)
    if params.init not in ("scratch", "finetune"):
        raise ValueError(f"init: expected 'scratch' or 'finetune', got {params.init!r}")
    t0 = time.perf_counter()
    round_no = params.round or ws.store.current_round()
    split = assemble(
        ws.store,
        params.task,
        pattern=params.pattern,
        sources=tuple(params.sources),
        val_fraction=params.val_fraction,
        seed=params.seed,
    )
    if len(split.val_ids) == 0:
        raise ValueError("validation set is empty: label more images (each class needs two or more)")
    device = pick_device(params.device)
    images = {img.id: img for img in ws.store.get_images(split.train_ids + split.val_ids)}
    train_imgs, val_imgs = [images[i] for i in split.train_ids], [images[i] for i in split.val_ids]
    networks = [a for a in rec.models if spec_of(a).library in ("timm", "torchvision")]
    size = max((input_size_for(a, rec.input_size) for a in networks), default=0)
    n_batches = -(-len(train_imgs) // rec.batch_size)
    per_net = rec.epochs * n_batches
    n_feat = sum(spec_of(a).library in ("features", "hybrid") for a in rec.models)
    # the first model that reads physics features computes those not cached yet: most of a first round's time
    fresh = to_compute(ws, train_imgs, val_imgs) if n_feat else [0, 0, 0]
    fresh_units = NEW_FEATURE_UNITS * sum(fresh)
    feature_weights = [n + 0.02 * len(imgs) for n, imgs in zip(fresh, (train_imgs, val_imgs, [None]), strict=True)]
    # one count for the round, in units of a network's batch; a physics model's steps take FEATURE_UNITS
    total = per_net * len(networks) + FEATURE_UNITS * n_feat + fresh_units + (LOAD_UNITS if networks else 0) + 3
    plan = Plan(progress, total)

    models: dict[str, dict] = {}
    val_probs, saved, pending, oof, refit = [], [], [], [], []
    hybrid_encoder: dict[str, tuple] = {}
    domains: dict = {}  # network → its domain check (`domain.network_domain`), saved beside it
    x = xv = None
    for k, arch in enumerate(rec.models):
        check_stop(should_stop)
        folder = ws.run_dir(run_id) / "models" / arch
        if spec_of(arch).library == "features":
            span, fresh_units = 12 + fresh_units, 0.0  # the next physics model finds them cached
            xf, xfv, ref = feature_inputs(
                ws, train_imgs, val_imgs, progress=plan.part(span, 3, feature_weights), should_stop=should_stop
            )
            plan.step(f"{arch}: fitting on {len(train_imgs)} labels", 2)
            model = create_classifier(arch, len(split.classes))
            configure_physics(model, split)
            used = model.set_reference(*ref)
            fitted = fit_physics(model, xf, split.train_y, seed=params.seed + k)
            logits = feature_logits(model, xfv)
            history = [{"epoch": 1, **fitted, "val_loss": nll(logits, split.val_y)}]
            extra, start, in_size, cfg_channels = {"reference_frames": used}, "fitted (seconds)", 0, 0
            fit_s, ips = 0.0, 0.0
            final = (np.concatenate([xf, xfv]), np.concatenate([split.train_y, split.val_y]))
        elif spec_of(arch).library == "hybrid":  # model zero: a logistic layer on encoder + physics features
            from .pretrain_zero import round_zero

            span, fresh_units = FEATURE_UNITS + fresh_units, 0.0
            zr = round_zero(ws, rec.channels, split, train_imgs, val_imgs, device=device,
                            progress=plan.part(span, 3), should_stop=should_stop)  # fmt: skip
            model, logits, final, in_size, cfg_channels = (
                zr["model"],
                zr["logits"],
                zr["final"],
                zr["input_size"],
                rec.channels,
            )
            history = [{"epoch": 1, **zr["fitted"], "val_loss": nll(logits, split.val_y)}]
            extra, start = {"reference_frames": zr["reference_frames"]}, f"frozen encoder {zr['encoder']}"
            fit_s, ips = 0.0, 0.0
        else:
            if x is None:
                load = plan.part(LOAD_UNITS, 2)
                x = load_inputs(ws, train_imgs, size, progress=load, should_stop=should_stop)
                xv = load_inputs(ws, val_imgs, size, progress=load, should_stop=should_stop)
            torch.manual_seed(params.seed + k)  # the new layers' initial weights too: one seed, one round
            model, in_size, start = _network(
                ws, rec, arch, split, params.init, round_no, params.task, params.pretrained.get(arch)
            )
            res = fit(
                model, x, split.train_y, input_size=in_size, epochs=rec.epochs, lr=rec.lr, batch_size=rec.batch_size,
                x_val=xv, y_val=split.val_y, device=device, seed=params.seed + k, augment=rec.augment,
                channels=rec.channels, weight_decay=rec.weight_decay, schedule=rec.schedule, patience=rec.patience,
                balance=rec.balance, label_smoothing=rec.label_smoothing,
                progress=plan.part(per_net), should_stop=should_stop,
                on_epoch=(lambda row, arch=arch: on_epoch(arch, row)) if on_epoch else None, label=arch,
            )  # fmt: skip
            logits = predict_logits(model, xv, input_size=in_size, device=device, channels=rec.channels)
            history, extra, cfg_channels = res.history, {"best_epoch": res.best_epoch}, rec.channels
            own = (x, xv)  # the check sees inputs made at the network's own size, as prediction gives them
            if in_size != size:
                own = tuple(load_inputs(ws, imgs, in_size, should_stop=should_stop) for imgs in (train_imgs, val_imgs))
            domains[arch] = network_domain(model, own[0], split.train_y, own[1], input_size=in_size,
                                           channels=rec.channels, device=device, should_stop=should_stop)  # fmt: skip
            if domains[arch] is not None:
                extra["domain_threshold"] = round(domains[arch].threshold, 4)
                extra["domain_false_flag_bound"] = domains[arch].false_flag_bound
            fit_s, ips = res.seconds, res.images_per_s
        if spec_of(arch).library == "features":
            plan.step(f"{arch}: 5-fold check of the labels", FEATURE_UNITS - 14)
            oof.append(out_of_fold(arch, split, xf, ref, seed=params.seed + k, should_stop=should_stop))
        if spec_of(arch).library in ("features", "hybrid") and rec.final_fit:
            refit.append((arch, k, model, final, extra))
        pending.append((arch, folder, model.cpu(), logits, in_size, cfg_channels, history, extra, start, fit_s, ips))
        if spec_of(arch).library == "hybrid":
            hybrid_encoder[arch] = (zr["encoder"], zr["encoder_arch"])
    # Calibrate on the validation labels the round's models do not strongly doubt. Each model was fitted without
    # the validation set, so its probabilities there are out of sample; a label that their average gives less
    # than `DOUBT` chance is most often a person's slip, and left in it softens every temperature (`doubted`).
    raw_val = np.stack([softmax(p[3]) for p in pending])
    doubt_val = doubted(raw_val, split.val_y)
    keep = np.setdiff1d(np.arange(len(split.val_y)), doubt_val)
    doubt = doubted_labels(split, raw_val, doubt_val, oof)
    # Scored and calibrated as fitted on the training set alone, the physics models and model zero then learn
    # from every label (a second's work, keeping their temperatures, as cross-validation then refit does) except
    # the labels doubted above: confident learning's prune-and-refit (Northcutt et al. 2021). The doubted labels
    # stay as they are in the store and in the review queue; only this refit does not learn from them.
    use = ~np.isin(np.asarray(list(split.train_ids) + list(split.val_ids)), [d["id"] for d in doubt])
    plan.step(
        (f"refitting on every label but {len(doubt)} doubted" if doubt else "refitting on every label")
        if refit
        else "calibrating",
        1,
    )
    for arch, k, model, (xa, ya), extra in refit:
        check_stop(should_stop)
        if spec_of(arch).library == "features":
            fit_physics(model, xa[use], ya[use], seed=params.seed + k)
        else:
            from .pretrain_zero import fit_zero

            fit_zero(model, xa[use], ya[use])
        extra["final_fit_on"] = int(use.sum())
        extra["final_fit_left_out"] = int((~use).sum())
    plan.step("calibrating on the validation set and scoring", 1)
    costs = decision_costs(split.classes, split.positive, rec.positive_cost)
    for arch, folder, model, logits, in_size, cfg_channels, history, extra, start, fit_s, ips in pending:
        temperature = fit_temperature(logits[keep], split.val_y[keep]) if rec.calibrate else 1.0
        probs = softmax(logits, temperature)
        val_probs.append(probs)
        config = ClassifierConfig(
            arch, split.classes, in_size, params.pretrained.get(arch), cfg_channels, temperature, rec.name
        )
        if arch in hybrid_encoder:
            config.pretrained, config.encoder = hybrid_encoder[arch]
        saved.append((arch, folder, model, config))
        models[arch] = {
            "start": start,
            "input_size": in_size,
            "channels": cfg_channels,
            "history": history,
            "images_per_s": round(ips, 2),
            "seconds": round(fit_s, 2),
            "checkpoint": ws.relative(folder),
            "temperature": round(temperature, 4),
            "val_nll": {
                "uncalibrated": round(nll(logits, split.val_y), 4),
                "calibrated": round(nll(logits, split.val_y, temperature), 4),
            },
            "metrics": scores(split.val_y, decide(probs, costs), split.classes, split.positive),
            **extra,
        }  # fmt: skip
    stacked = np.stack(val_probs)
    weighted = cross_fitted_weighted(stacked, split.val_y, seed=params.seed)
    weights = fit_weights(stacked, split.val_y)  # for predicting new images; never scored on this data
    voting = {
        "hard": scores(split.val_y, hard_vote(stacked, costs), split.classes, split.positive),
        "soft": scores(split.val_y, decide(soft_vote(stacked), costs), split.classes, split.positive),
        "weighted": scores(split.val_y, decide(weighted, costs), split.classes, split.positive),
    }
    np.savez(
        ws.run_dir(run_id) / "validation.npz",
        ids=np.array(split.val_ids),
        y=split.val_y,
        probs=stacked,
        models=np.array(list(rec.models)),
    )
    plan.step("saving the models", 1)
    for arch, folder, model, config in saved:  # complete files first, then the records
        with atomic_dir(folder) as tmp:
            save_classifier(model, config, tmp)
            if domains.get(arch) is not None:
                domains[arch].save(tmp)
    for arch, folder, _, _ in saved:
        meta = {"arch": arch, "task": params.task, "round": round_no, "init": params.init, "classes": split.classes}
        ws.store.add_artifact("classifier", ws.relative(folder), run_id=run_id, meta={**meta, "recipe": rec.name})
    plan.finish("round finished")
    warnings = []
    if left := split.summary.get("left_out"):
        warnings.append(
            f"{', '.join(map(repr, left))} left out of this round: one image of a class can train or validate, not "
            "both (two or more bring it in)"
        )
    if len(split.val_ids) < 30:
        warnings.append(
            f"the validation set holds {len(split.val_ids)} images, so each one moves accuracy by "
            f"{100 / len(split.val_ids):.0f} points; it grows by a fifth of the labels given from now on (label "
            "more to steady it)"
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
        weights={a: round(float(w), 4) for a, w in zip(rec.models, weights, strict=True)},
        seconds=round(time.perf_counter() - t0, 2),
        recipe=rec.to_json(),
        warnings=warnings,
        doubted=doubt,
        decision=decision_record(split.classes, split.positive, rec.positive_cost),
    )
    ws.store.update_round(round_no, classify_runs=[run_id], training_image_ids=split.train_ids)
    return result


def round_params_json(params: RoundParams) -> dict:
    return {
        **asdict(params),
        "models": list(params.models) if params.models else None,
        "sources": list(params.sources),
    }
