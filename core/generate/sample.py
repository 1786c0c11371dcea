"""Sample the domain model: DPM-Solver++ (or DDIM) in 20-30 steps with classifier-free guidance, batched, a
progress report and a stop check at every denoising step (the loop stops within one step of a cancel).

Generated frames are registered as unlabeled candidates of the current round with their provenance."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..jobs import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..workspace import Workspace

log = logging.getLogger(__name__)

Sampler = Literal["dpm++", "ddim"]


def load_generator(checkpoint: str | Path, device: str = "cpu"):
    """(EMA UNet, conditioner, scheduler config) of a checkpoint folder."""
    from diffusers import DDPMScheduler, UNet2DModel

    from .conditioner import DomainConditioner

    checkpoint = Path(checkpoint)
    missing = [part for part in ("unet_ema", "conditioner", "scheduler") if not (checkpoint / part).is_dir()]
    if missing:  # diffusers would take a missing folder for a hub name and talk of huggingface.co
        raise ValueError(f"checkpoint {checkpoint}: not a generator checkpoint (no {'/, '.join(missing)}/)")
    try:
        unet = UNet2DModel.from_pretrained(checkpoint / "unet_ema").to(device).eval()
        conditioner = DomainConditioner.from_pretrained(checkpoint / "conditioner").to(device).eval()
        config = DDPMScheduler.from_pretrained(checkpoint / "scheduler").config
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise ValueError(f"checkpoint {checkpoint}: cannot load it ({' '.join(str(exc).split())[:300]})") from None
    if unet.config.in_channels != 1 or unet.config.out_channels != 1 or unet.config.class_embed_type is None:
        raise ValueError(f"checkpoint {checkpoint}: its unet_ema/ is no scatterloop domain model (one channel in and "
                         "out, conditioned on a class embedding)")  # fmt: skip
    return unet, conditioner, config


def make_scheduler(config, sampler: Sampler):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if sampler == "dpm++":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)
    if sampler == "ddim":
        return DDIMScheduler.from_config(config)
    raise ValueError(f"sampler: expected 'dpm++' or 'ddim', got {sampler!r}")


@torch.no_grad()
def sample_batch(
    unet,
    conditioner,
    scheduler_config,
    *,
    patterns: list[str | None],
    prompts: list[str],
    seeds: list[int],
    steps: int = 25,
    guidance: float = 2.0,
    sampler: Sampler = "dpm++",
    on_step=None,
) -> np.ndarray:
    """One batch of frames in [-1, 1], shape (n, size, size). `on_step(i)` is called after each step and may
    raise `Cancelled` to stop."""
    device = unet.device
    size = unet.config.sample_size
    scheduler = make_scheduler(scheduler_config, sampler)
    scheduler.set_timesteps(steps, device=device)
    noise = torch.stack([torch.randn(1, size, size, generator=torch.Generator().manual_seed(int(s))) for s in seeds])
    x = noise.to(device) * scheduler.init_noise_sigma
    cond = conditioner(conditioner.class_ids(patterns), conditioner.encode_text(prompts))
    null = conditioner.null_condition(len(seeds))
    for i, t in enumerate(scheduler.timesteps):
        inp = scheduler.scale_model_input(torch.cat([x, x]), t)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            eps = unet(inp, t, class_labels=torch.cat([cond, null])).sample.float()
        eps_c, eps_u = eps.chunk(2)
        x = scheduler.step(eps_u + guidance * (eps_c - eps_u), t, x).prev_sample
        if on_step is not None:
            on_step(i + 1)
    return x.clamp(-1, 1)[:, 0].cpu().numpy()


def register_frames(
    ws: Workspace,
    run_id: int,
    out_dir: Path,
    frames: np.ndarray,
    seeds: list[int],
    *,
    text: str | list[str],
    pattern: str | None,
    round_no: int,
    provenance: dict,
    tag: str,
) -> tuple[list[int], int]:
    """Write finished frames (values in [-1, 1]) as float TIFFs and register them as generated candidates; returns
    (their image ids, how many were identical to images stored already and not registered again)."""
    import json

    import tifffile

    from ..ingest import import_paths

    texts = [text] * len(seeds) if isinstance(text, str) else list(text)
    meta = []
    for s, frame, text in zip(seeds, frames, texts, strict=True):
        name = out_dir / f"gen_{run_id}_{s:06d}.tif"
        tifffile.imwrite(name, ((frame + 1) / 2).astype(np.float32))
        meta.append(
            {"file_name": name.name, "text": text, "pattern": pattern, "prompt": text, "seed": s, **provenance}
        )
    manifest = out_dir / f"batch_{tag}.jsonl"
    manifest.write_text("".join(json.dumps(m) + "\n" for m in meta))
    summary = import_paths(
        ws, [manifest], source="generated", run_id=run_id, round=round_no, provenance={"run": run_id}
    )
    # the import keeps a verified copy of every frame it registered (originals/), so the run's own file goes, and so
    # does a frame identical to one stored already (same checkpoint, prompt and seed; its report says so): FID-50k
    # at 256 px would otherwise keep 13 GB twice. A frame the import refused keeps its file, and its line says why.
    for report in summary.files:
        if (report.imported or report.duplicates) and not report.error:
            (out_dir / os.path.basename(report.path)).unlink(missing_ok=True)
    for line in summary.errors:
        log.warning("run %d: a generated frame was not registered: %s", run_id, line)
    return summary.image_ids, summary.duplicates


@dataclass
class GenerateResult:
    run_id: int
    image_ids: list[int] = field(default_factory=list)
    requested: int = 0
    duplicates: int = 0  # frames identical to stored ones (same checkpoint, prompt and seed): not added again
    seed: int = 0
    seconds: float = 0.0
    images_per_s: float = 0.0


def pattern_descriptions(ws: Workspace, pattern: str | None) -> list[str]:
    """The experimental frames' descriptions of `pattern`: what the text encoder learnt the pattern from."""
    if not pattern:
        return []
    from ..store import ImageFilter

    rows = ws.store.list_images(ImageFilter(source="experimental", pattern=pattern))
    return sorted({img.description for img, _ in rows if img.description})


def prompt_for(prompt: str | None, pattern: str | None, pool: list[str], seed: int) -> str:
    """The given prompt; else, for a pattern alone, one of its real descriptions chosen by the image's seed
    (a lone word is far from the sentences the text encoder was trained on); else the pattern name."""
    if prompt:
        return prompt
    if pool:
        return pool[int(np.random.default_rng([seed, 7]).integers(len(pool)))]
    return pattern or ""


def generate_candidates(
    ws: Workspace,
    checkpoint: str | Path,
    *,
    run_id: int,
    n: int,
    pattern: str | None = None,
    prompt: str | None = None,
    seed: int = 0,
    steps: int = 25,
    guidance: float = 2.0,
    sampler: Sampler = "dpm++",
    batch_size: int = 16,
    device: str | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> GenerateResult:
    """Make n frames and register each finished batch as generated candidates with full provenance.

    A cancel stops within one denoising step; the batch in flight is discarded, nothing half-made is stored.
    """
    from ..embed.autoencoder import pick_device

    t0 = time.perf_counter()
    device = pick_device(device)
    unet, conditioner, sched_config = load_generator(
        ws.root / checkpoint if not Path(checkpoint).is_absolute() else checkpoint, device
    )
    if pattern is not None and pattern not in conditioner.classes:  # it would be stored as a new pattern
        known = ", ".join(conditioner.classes) or "none"
        raise ValueError(f"pattern {pattern[:40]!r}: this generator was trained on {known}")
    trained = int(sched_config.get("num_train_timesteps", 1000))
    if steps >= trained if sampler == "dpm++" else steps > trained:  # diffusers' IndexError deep in the loop
        most = trained - 1 if sampler == "dpm++" else trained
        raise ValueError(f"steps = {steps}: this generator's {sampler} sampler takes at most {most}")
    pool = [] if prompt else pattern_descriptions(ws, pattern)
    out_dir = ws.run_dir(run_id) / "generated"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(run_id=run_id, requested=n, seed=seed)
    round_no = ws.store.current_round()
    done_steps = [0]
    total_steps = n * steps

    batch = [0]  # the images of the batch being made: the last batch may be smaller

    def on_step(_i: int) -> None:
        done_steps[0] += batch[0]
        progress(
            min(done_steps[0], total_steps), total_steps, f"{len(result.image_ids)}/{n} images, step {_i}/{steps}"
        )
        if should_stop():
            raise Cancelled()

    for start in range(0, n, batch_size):
        count = batch[0] = min(batch_size, n - start)
        seeds = [seed + start + k for k in range(count)]
        texts = [prompt_for(prompt, pattern, pool, s) for s in seeds]
        frames = sample_batch(
            unet,
            conditioner,
            sched_config,
            patterns=[pattern] * count,
            prompts=texts,
            seeds=seeds,
            steps=steps,
            guidance=guidance,
            sampler=sampler,
            on_step=on_step,
        )
        added, same = register_frames(
            ws,
            run_id,
            out_dir,
            frames,
            seeds,
            text=texts,
            pattern=pattern,
            round_no=round_no,
            provenance={
                "backend": "domain",
                "checkpoint": str(checkpoint),
                "steps": steps,
                "guidance": guidance,
                "params": {
                    "sampler": sampler,
                    "class": pattern,
                    "prompt_source": "given" if prompt else f"drawn from the workspace's {pattern} descriptions",
                },
            },
            tag=f"{start:06d}",
        )
        result.image_ids.extend(added)
        result.duplicates += same
        progress(min(done_steps[0], total_steps), total_steps, f"{len(result.image_ids)}/{n} images registered")
    result.seconds = round(time.perf_counter() - t0, 2)
    result.images_per_s = round(len(result.image_ids) / max(result.seconds, 1e-9), 3)
    return result
