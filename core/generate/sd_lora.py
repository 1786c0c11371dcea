"""Stable Diffusion 1.5 + LoRA: fine-tune LoRA adapters (peft) on the workspace's text-image pairs (the
imagefolder `metadata.jsonl` export) from a local SD 1.5 folder, and sample with `load_lora_weights`.

Nothing is downloaded: the base model is a local `save_pretrained` folder (a hub id works only where the
network and `allow_download` allow). GPU runs in bf16 (or fp16 where bf16 is unsupported); the CPU in fp32.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_dir
from ..jobs import Cancelled, ProgressFn, StopFn, never_stop, no_progress

LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def pick_dtype(device: str) -> torch.dtype:
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def check_base(base: str | Path) -> Path:
    """A local diffusers folder with every component its model_index.json names; else one line saying what is
    missing (diffusers would take a missing path for a hub id and talk of repo names or huggingface.co)."""
    path = Path(base)
    if path.is_file():
        raise ValueError(
            f"--base {path}: a single-file checkpoint; give a diffusers folder (model_index.json, unet/, vae/, ...): "
            "convert it once with diffusers' scripts/convert_original_stable_diffusion_to_diffusers.py"
        )
    index = path / "model_index.json"
    if not index.is_file():
        raise ValueError(f"--base {path}: not a diffusers Stable Diffusion folder (no model_index.json)")
    try:
        parts = json.loads(index.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{index}: not readable JSON ({exc})") from None
    optional = {"safety_checker", "feature_extractor", "image_encoder"}
    for name, spec in parts.items():
        if name.startswith("_") or name in optional or not isinstance(spec, list) or spec[0] is None:
            continue
        if not (path / name).is_dir():
            raise ValueError(f"--base {path}: its {name}/ folder is missing (model_index.json names it)")
    return path


def check_lora(lora_dir: str | Path) -> Path:
    path = Path(lora_dir)
    if not path.exists():
        raise ValueError(f"--lora {path}: no such folder")
    if path.is_dir() and not any(path.glob("*.safetensors")):
        raise ValueError(f"--lora {path}: holds no LoRA weights (*.safetensors, as `generate train --backend sd-lora` "
                         "writes)")  # fmt: skip
    return path


def _quiet_diffusers() -> None:
    """diffusers' loading bars and warnings would bury the command's one line (`-v` logs ours)."""
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()


def load_pipeline(base: str | Path, device: str, dtype: torch.dtype, allow_download: bool = False):
    from diffusers import StableDiffusionPipeline

    if not allow_download:
        check_base(base)
    _quiet_diffusers()
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            str(base),
            torch_dtype=dtype,
            safety_checker=None,
            requires_safety_checker=False,
            local_files_only=not allow_download,
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ValueError(f"--base {base}: cannot load it ({' '.join(str(exc).split())[:300]})") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def imagefolder_pairs(folder: str | Path, resolution: int) -> tuple[torch.Tensor, list[str]]:
    """Images as (N, 3, R, R) in [-1, 1] and their captions, from an imagefolder with metadata.jsonl."""
    from PIL import Image

    folder = Path(folder)
    meta = folder / "metadata.jsonl"
    if not meta.exists():
        raise ValueError(f"{folder}: no metadata.jsonl (make one with `scatterloop export`)")
    images, texts = [], []
    for number, line in enumerate(meta.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name = row["file_name"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{meta} line {number}: not a JSON object with a file_name") from None
        img = Image.open(folder / name).convert("RGB").resize((resolution, resolution), Image.Resampling.BICUBIC)
        images.append(torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1))
        texts.append(row.get("text") or "")
    if not images:
        raise ValueError(f"{meta}: no images listed")
    return torch.stack(images), texts


@dataclass
class LoraResult:
    out_dir: str
    steps: int
    device: str
    dtype: str
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_lora(
    base: str | Path,
    data: str | Path,
    out_dir: str | Path,
    *,
    resolution: int = 512,
    rank: int = 4,
    steps: int = 1000,
    batch_size: int = 1,
    lr: float = 1e-4,
    seed: int = 0,
    device: str | None = None,
    allow_download: bool = False,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> LoraResult:
    """LoRA on the UNet's attention projections; VAE and text encoder frozen. A plain readable loop."""
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from ..embed.autoencoder import pick_device

    if resolution % 8:  # the VAE halves the size three times: the sampler refuses anything else
        raise ValueError(f"resolution = {resolution}: must be a multiple of 8")
    t0 = time.perf_counter()
    device = pick_device(device)
    weight_dtype = pick_dtype(device)
    torch.manual_seed(seed)
    pipe = load_pipeline(base, device, weight_dtype, allow_download)
    unet, vae, text_encoder, tokenizer = pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=LORA_TARGETS))
    lora_params = [p for p in unet.parameters() if p.requires_grad]
    for p in lora_params:  # trainable adapters stay in fp32 even when the frozen weights are half precision
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(lora_params, lr=lr, weight_decay=1e-2)
    pixels, texts = imagefolder_pairs(data, resolution)
    ids = tokenizer(
        texts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    gen = torch.Generator().manual_seed(seed)
    result = LoraResult(out_dir=str(out_dir), steps=0, device=device, dtype=str(weight_dtype).replace("torch.", ""))
    unet.train()

    def save() -> None:  # the adapters so far, written whole (a cancel or a cluster's time limit keeps them)
        lora_state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
        with atomic_dir(out_dir) as tmp:
            StableDiffusionPipeline.save_lora_weights(save_directory=str(tmp), unet_lora_layers=lora_state,
                                                      safe_serialization=True)  # fmt: skip
            (tmp / "state.json").write_text(json.dumps({"step": result.steps, "of": steps, "rank": rank}))

    every = max(50, steps // 10)
    for step in range(1, steps + 1):
        if should_stop():
            if result.steps:
                save()
            raise Cancelled()
        idx = torch.randint(0, len(pixels), (batch_size,), generator=gen)
        with torch.no_grad():
            latents = vae.encode(pixels[idx].to(device, weight_dtype)).latent_dist.sample(generator=gen)
            latents = latents * vae.config.scaling_factor
            hidden = text_encoder(ids[idx].to(device))[0]
        noise = torch.randn(latents.shape, generator=gen).to(device, latents.dtype)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (batch_size,), generator=gen).to(device)
        noisy = noise_scheduler.add_noise(latents, noise, t)
        with torch.autocast(device_type="cuda", dtype=weight_dtype, enabled=device.startswith("cuda")):
            pred = unet(noisy, t, hidden).sample
        loss = torch.nn.functional.mse_loss(pred.float(), noise.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        result.losses.append(loss.item())
        result.steps = step
        progress(step, steps, f"step {step}/{steps} loss {result.losses[-1]:.4f}")
        if step % every == 0 and step < steps:
            save()
    save()
    result.seconds = round(time.perf_counter() - t0, 2)
    return result


def sample_lora(
    base: str | Path,
    lora_dir: str | Path | None,
    prompts: list[str],
    *,
    steps: int = 25,
    guidance: float = 7.5,
    seed: int = 0,
    resolution: int | None = None,
    device: str | None = None,
    allow_download: bool = False,
    on_batch=None,
    batch: int = 8,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> np.ndarray:
    """Grayscale frames in [0, 1], shape (len(prompts), H, W). Cancel interrupts within one step. With `on_batch`,
    every `batch` finished frames go to `on_batch(start, frames)` as they are made (registered, not held: 50,000
    frames at 512 px would not fit in memory) and nothing is returned."""
    from ..embed.autoencoder import pick_device

    device = pick_device(device)
    if lora_dir is not None:
        lora_dir = check_lora(lora_dir)
    pipe = load_pipeline(base, device, pick_dtype(device), allow_download)
    if lora_dir is not None:
        try:
            pipe.load_lora_weights(str(lora_dir))
        except (OSError, ValueError, RuntimeError, KeyError, IndexError) as exc:
            raise ValueError(
                f"--lora {lora_dir}: not a LoRA of this base ({' '.join(str(exc).split())[:200]})"
            ) from None
    size = resolution or pipe.unet.config.sample_size * pipe.vae_scale_factor
    if size % 8:
        raise ValueError(f"resolution = {size}: must be a multiple of 8")
    total = len(prompts) * steps
    done = [0]

    def on_step_end(pipeline, i, t, callback_kwargs):
        done[0] += 1
        progress(done[0], total, f"step {i + 1}/{steps}")
        if should_stop():
            pipeline._interrupt = True
        return callback_kwargs

    frames, start = [], 0
    for k, prompt in enumerate(prompts):
        out = pipe(
            prompt,
            num_inference_steps=steps,
            guidance_scale=guidance,
            height=size,
            width=size,
            generator=torch.Generator(device="cpu").manual_seed(seed + k),
            output_type="np",
            callback_on_step_end=on_step_end,
        )
        if getattr(pipe, "_interrupt", False) or should_stop():
            raise Cancelled()
        frames.append(out.images[0].mean(axis=-1))
        if on_batch is not None and (len(frames) == batch or k == len(prompts) - 1):
            on_batch(start, np.stack(frames))
            start, frames = k + 1, []
    return np.stack(frames) if frames else np.empty((0, size, size), np.float32)
