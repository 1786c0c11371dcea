"""Train the domain diffusion model from scratch on the workspace's experimental frames and descriptions.

A plain DDPM loop (diffusers' UNet2DModel and DDPMScheduler) with EMA weights, classifier-free-guidance
dropout of the condition, checkpoints every few hundred steps, and resume from the latest checkpoint.
Detector gaps stay part of the picture (at -1, the darkest value) because real frames have them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..embed.inputs import load_inputs
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..worker import LOSS_EVERY
from ..workspace import Workspace
from .checkpoint import latest_checkpoint, load_optimizer, save_optimizer
from .conditioner import DomainConditioner, build_vocab
from .presets import PRESETS, DomainPreset

CFG_DROPOUT = 0.1


@dataclass
class TrainResult:
    run_dir: str
    checkpoint: str
    steps: int
    resumed_from_step: int
    device: str
    losses: list[float] = field(default_factory=list)  # mean loss per logging interval
    seconds: float = 0.0
    n_images: int = 0


MIN_EXPERIMENTAL = 4


def check_can_train(store) -> None:
    """Raises ValueError when the workspace holds too few experimental frames to train on (a page asks before it
    starts the run, so the refusal is said at the click, not by a run failed seconds later)."""
    from ..store import ImageFilter

    if store.count_images(ImageFilter(source="experimental")) < MIN_EXPERIMENTAL:
        raise ValueError(
            f"training the generator needs at least {MIN_EXPERIMENTAL} experimental images in the workspace"
        )


def training_data(ws: Workspace, size: int) -> tuple[np.ndarray, list[str | None], list[str]]:
    """Experimental frames in [-1, 1] with gaps at -1, their patterns and descriptions."""
    check_can_train(ws.store)
    images = [img for img, _ in ws.store.list_images() if img.source == "experimental"]
    x, valid = load_inputs(ws, images, size)
    x = np.where(valid > 0.5, x, -1.0).astype(np.float32)
    return x, [img.pattern for img in images], [img.description or img.pattern or "" for img in images]


def build_models(preset: DomainPreset, vocab: list[str], classes: list[str]):
    from diffusers import UNet2DModel

    unet = UNet2DModel(
        sample_size=preset.size,
        in_channels=1,
        out_channels=1,
        block_out_channels=preset.block_out_channels,
        down_block_types=preset.down_block_types,
        up_block_types=preset.up_block_types,
        layers_per_block=preset.layers_per_block,
        class_embed_type="identity",
        time_embedding_dim=preset.cond_dim,
        norm_num_groups=min(8, preset.block_out_channels[0]),
    )
    conditioner = DomainConditioner(vocab=vocab, classes=classes, dim=preset.cond_dim)
    return unet, conditioner


def train_domain_model(
    ws: Workspace,
    preset_name: str | None = None,
    *,
    run_id: int,
    max_steps: int | None = None,
    resume_from: str | Path | None = None,
    seed: int = 0,
    device: str | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> TrainResult:
    """Train (or continue training from `resume_from`, a run folder or checkpoint) for `max_steps` steps."""
    from diffusers import DDPMScheduler, UNet2DModel
    from diffusers.training_utils import EMAModel

    from ..embed.autoencoder import pick_device

    ckpt = None
    if resume_from is not None:
        resume_from = Path(resume_from)
        ckpt = resume_from if (resume_from / "state.json").exists() else latest_checkpoint(resume_from)
        if ckpt is None:
            raise ValueError(f"{resume_from}: no checkpoint to resume from")
        state = json.loads((ckpt / "state.json").read_text())
        # a resumed run keeps its preset: its UNet's size, batch and learning rate (a gpu run resumed under the
        # cpu default trained a 256-px UNet on 64-px frames)
        was = (state.get("preset") or {}).get("name")
        if preset_name is not None and was is not None and preset_name != was:
            raise ValueError(
                f"preset {preset_name!r}: {resume_from.name} was trained with {was!r}; resume it with that"
            )
        preset_name = preset_name or was
    preset_name = preset_name or "cpu"
    if preset_name not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset_name!r}")
    preset = PRESETS[preset_name]
    total = max_steps or preset.steps
    if ckpt is not None and total <= state["step"]:
        raise ValueError(
            f"steps = {total}: {resume_from.name} is at step {state['step']} already; steps is the total to reach"
        )
    device = pick_device(device)
    half = _half_dtype(device)
    t0 = time.perf_counter()
    progress(0, total, f"reading the training frames at {preset.size} px")
    x, patterns, texts = training_data(ws, preset.size)
    progress(0, total, f"building the model on {device} ({len(x)} frames)")
    run_dir = ws.run_dir(run_id)
    start_step, losses = 0, []
    if ckpt is not None:
        unet = UNet2DModel.from_pretrained(ckpt / "unet")
        ema_weights = UNet2DModel.from_pretrained(ckpt / "unet_ema")
        conditioner = DomainConditioner.from_pretrained(ckpt / "conditioner")
        start_step, losses = state["step"], state["losses"]
    else:
        classes = sorted({p for p in patterns if p})
        unet, conditioner = build_models(preset, build_vocab(texts), classes)
        ema_weights = None
    unet.to(device).train()
    conditioner.to(device).train()
    params = list(unet.parameters()) + list(conditioner.parameters())
    optimizer = torch.optim.AdamW(params, lr=preset.lr, weight_decay=1e-4)
    if ckpt is not None:
        load_optimizer(optimizer, ckpt / "optimizer")
    ema = EMAModel(
        (ema_weights or unet).parameters(),
        decay=0.999,
        use_ema_warmup=True,
        model_cls=UNet2DModel,
        model_config=unet.config,
    )
    ema.to(device)
    ema.optimization_step = start_step
    if ckpt is not None:  # a resumed run keeps the noise schedule and target it was started with
        scheduler = DDPMScheduler.from_pretrained(ckpt / "scheduler")
    else:
        scheduler = DDPMScheduler(
            num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type=preset.prediction_type
        )
    gen = torch.Generator().manual_seed(seed + start_step)
    xt = torch.from_numpy(x)
    class_ids = conditioner.class_ids(patterns).cpu()
    token_ids = conditioner.encode_text(texts).cpu()
    window: list[float] = []
    step = start_step
    for step in range(start_step + 1, total + 1):
        check_stop(should_stop)
        idx = torch.randint(0, len(xt), (preset.batch_size,), generator=gen)
        clean = xt[idx].to(device)
        if torch.rand((), generator=gen) < 0.5:  # frames may be mirrored left-right; rings and rods stay physical
            clean = clean.flip(-1)
        noise = torch.randn(clean.shape, generator=gen).to(device)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(idx),), generator=gen).to(device)
        drop = (torch.rand(len(idx), generator=gen) < CFG_DROPOUT).to(device)
        cond = conditioner(class_ids[idx].to(device), token_ids[idx].to(device), drop)
        with torch.autocast("cuda", dtype=half, enabled=half is not None):
            pred = unet(scheduler.add_noise(clean, noise, t), t, class_labels=cond).sample
        target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(clean, noise, t)
        loss = _loss(pred.float(), target, t, scheduler, preset.snr_gamma)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        ema.step(unet.parameters())
        value = float(loss.detach())
        window.append(value)
        if step % LOSS_EVERY == 0 or step == total:
            losses.append(float(np.mean(window)))
            window = []
        progress(step, total, f"step {step}/{total} loss {value:.4f}")
        if step % preset.checkpoint_every == 0 or step == total:
            ckpt = save_checkpoint(run_dir, unet, ema, conditioner, optimizer, step, losses, preset, scheduler)
    if ckpt is None or json.loads((Path(ckpt) / "state.json").read_text())["step"] != step:
        ckpt = save_checkpoint(run_dir, unet, ema, conditioner, optimizer, step, losses, preset, scheduler)
    ws.store.add_artifact("generator", ws.relative(ckpt), run_id=run_id, meta={"step": step, "preset": preset.name})
    return TrainResult(
        run_dir=ws.relative(run_dir),
        checkpoint=ws.relative(ckpt),
        steps=step,
        resumed_from_step=start_step,
        device=device,
        losses=losses,
        seconds=round(time.perf_counter() - t0, 2),
        n_images=len(x),
    )


def _loss(pred, target, t, scheduler, snr_gamma: float | None) -> torch.Tensor:
    """MSE on the target (noise or velocity); with `snr_gamma`, each sample weighted by min(SNR(t), γ)/SNR(t)
    for epsilon and min(SNR(t), γ)/(SNR(t) + 1) for v (Min-SNR-γ), which stops the easy, low-noise steps from
    dominating and converges faster."""
    if snr_gamma is None:
        return torch.nn.functional.mse_loss(pred, target)
    from diffusers.training_utils import compute_snr

    snr = compute_snr(scheduler, t)
    weight = torch.clamp(snr, max=snr_gamma)
    weight = weight / snr if scheduler.config.prediction_type == "epsilon" else weight / (snr + 1)
    per_sample = ((pred - target) ** 2).mean(dim=(1, 2, 3))
    return (weight * per_sample).mean()


def _half_dtype(device: str) -> torch.dtype | None:
    """Mixed precision on CUDA (bf16 where supported, else fp16); full precision on the CPU."""
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def save_checkpoint(
    run_dir: Path, unet, ema, conditioner, optimizer, step: int, losses: list[float], preset: DomainPreset, scheduler
) -> Path:
    """Write step-NNNNNN/ with unet/, unet_ema/, conditioner/, scheduler/, optimizer state; state.json last, so
    a checkpoint without it (a kill mid-write) is never resumed from."""
    from diffusers import UNet2DModel

    path = run_dir / "checkpoints" / f"step-{step:06d}"
    path.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(path / "unet")
    ema_unet = UNet2DModel.from_config(unet.config)
    ema.copy_to(ema_unet.parameters())
    ema_unet.save_pretrained(path / "unet_ema")
    conditioner.save_pretrained(path / "conditioner")
    scheduler.save_pretrained(path / "scheduler")
    save_optimizer(optimizer, path / "optimizer")
    (path / "state.json").write_text(json.dumps({"step": step, "losses": losses, "preset": asdict(preset)}))
    return path
