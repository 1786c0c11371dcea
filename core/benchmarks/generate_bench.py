"""Generator speed and quality: our sampler (DPM-Solver++, 25 steps, guidance) against diffusers' DDPMPipeline
with 1,000 steps on the same UNet, in the same run, each with a quality figure so speed is not bought with
quality: a pattern classifier trained only on experimental frames must recognise the generated frames as the
pattern asked for, and generated rings must be as symmetric in polar coordinates as experimental ones."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .io_bench import machine


class _ConditionedUNet(torch.nn.Module):
    """The trained UNet with a fixed condition, in the shape DDPMPipeline expects (`unet(x, t).sample`)."""

    def __init__(self, unet, cond: torch.Tensor):
        super().__init__()
        self.unet, self.cond, self.config = unet, cond, unet.config

    @property
    def dtype(self):
        return self.unet.dtype

    @property
    def device(self):
        return self.unet.device

    def forward(self, x, t):
        return self.unet(x, t, class_labels=self.cond.expand(len(x), -1))


def _pattern_classifier(x: np.ndarray, patterns: list[str], seed: int):
    """Logistic regression on 32x32 downsampled inputs; returns (model, held-out accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    feats = _features(x)
    a, b, ya, yb = train_test_split(feats, patterns, test_size=0.25, random_state=seed, stratify=patterns)
    clf = LogisticRegression(max_iter=2000, C=0.5).fit(a, ya)
    acc = float(clf.score(b, yb))
    return LogisticRegression(max_iter=2000, C=0.5).fit(feats, patterns), acc


def _features(x: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(x.reshape(len(x), 1, x.shape[-2], x.shape[-1]).astype(np.float32))
    return torch.nn.functional.adaptive_avg_pool2d(t, 32).flatten(1).numpy()


def _symmetry(frames: np.ndarray) -> list[float]:
    from ..polar import analyse

    out = []
    for f in frames:
        data = (f + 1) / 2 * 1000.0  # back to a count-like scale; gaps (-1) become 0
        out.append(analyse(data, np.zeros(data.shape, bool)).score)
    return out


def bench_generate(n: int = 8, size: int | None = None, seed: int = 0, workspace: str | Path | None = None) -> dict:
    """n images per pattern with each sampler, from the workspace's latest trained generator."""
    from diffusers import DDPMPipeline, DDPMScheduler

    from ..config import Settings
    from ..generate import load_generator, sample_batch
    from ..generate.train import training_data
    from ..workspace import Workspace

    if workspace is None:
        raise ValueError("bench generate: --workspace with a trained generator is required")
    ws = Workspace.open(Settings(workspace=workspace))
    arts = ws.store.list_artifacts(kind="generator")
    if not arts:
        raise ValueError(f"{workspace}: no trained generator (scatterloop generate train first)")
    checkpoint = ws.root / arts[-1].path
    unet, cond_model, sched_config = load_generator(checkpoint, "cpu")
    x, patterns, _ = training_data(ws, unet.config.sample_size)
    clf, held_out = _pattern_classifier(x, patterns, seed)
    out: dict = {
        "bench": "generate",
        "n_per_pattern": n,
        "size": unet.config.sample_size,
        "machine": machine(),
        "checkpoint": arts[-1].path,
        "step": arts[-1].meta.get("step"),
        "classifier": {
            "kind": "logistic regression on 32x32 experimental inputs",
            "held_out_accuracy": round(held_out, 3),
        },
    }
    exp_rings = x[[i for i, p in enumerate(patterns) if p == "rings"]][:n]
    out["experimental_rings_symmetry_median"] = round(float(np.median(_symmetry(exp_rings[:, 0]))), 3)
    classes = sorted(set(patterns))
    for name in ("ours_dpm++_25_steps_cfg2", "ddpm_pipeline_1000_steps"):
        t0 = time.perf_counter()
        made: dict[str, np.ndarray] = {}
        for k, pattern in enumerate(classes):
            seeds = [seed + 1000 * k + i for i in range(n)]
            if name.startswith("ours"):
                made[pattern] = sample_batch(
                    unet,
                    cond_model,
                    sched_config,
                    patterns=[pattern] * n,
                    prompts=[pattern] * n,
                    seeds=seeds,
                    steps=25,
                    guidance=2.0,
                )
            else:
                with torch.no_grad():
                    cond = cond_model(cond_model.class_ids([pattern]), cond_model.encode_text([pattern]))
                pipe = DDPMPipeline(
                    unet=_ConditionedUNet(unet, cond), scheduler=DDPMScheduler.from_config(sched_config)
                )
                pipe.set_progress_bar_config(disable=True)
                images = pipe(
                    batch_size=n,
                    generator=torch.Generator().manual_seed(seeds[0]),
                    num_inference_steps=1000,
                    output_type="np",
                ).images
                made[pattern] = images[..., 0] * 2 - 1
        seconds = time.perf_counter() - t0
        total = n * len(classes)
        rates = {p: round(float(np.mean(clf.predict(_features(made[p])) == p)), 3) for p in classes}
        out[name] = {
            "images": total,
            "seconds": round(seconds, 2),
            "images_per_s": round(total / seconds, 3),
            "recognised_as_asked": rates,
            "rings_symmetry_median": round(float(np.median(_symmetry(made["rings"]))), 3) if "rings" in made else None,
        }
        if name.startswith("ours"):
            grid = np.concatenate([np.concatenate(list(made[p][:6]), axis=1) for p in classes], axis=0)
            from PIL import Image

            path = ws.root / "exports" / "generated-grid.png"
            Image.fromarray(((grid + 1) * 127.5).clip(0, 255).astype(np.uint8), mode="L").save(path)
            out["grid_png"] = str(path)
    ws.store.dispose()
    return out
