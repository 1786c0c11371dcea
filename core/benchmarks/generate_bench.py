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
        return self.unet(x, t, class_labels=self.cond.expand(len(x), -1) if len(self.cond) == 1 else self.cond)


def _pattern_classifier(x: np.ndarray, patterns: list[str], seed: int):
    """Logistic regression on 32x32 downsampled inputs; returns (model, held-out accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    feats = _features(x)
    a, b, ya, yb = train_test_split(feats, patterns, test_size=0.25, random_state=seed, stratify=patterns)
    clf = LogisticRegression(max_iter=2000, C=0.5).fit(a, ya)
    acc = float(clf.score(b, yb))
    return LogisticRegression(max_iter=2000, C=0.5).fit(feats, patterns), acc


CNN = {"arch": "resnet18", "epochs": 10, "lr": 1e-3, "batch_size": 32}


def _cnn_classifier(x: np.ndarray, patterns: list[str], seed: int):
    """A ResNet-18 from our classifier registry trained only on the experimental frames (left-right flips
    as augmentation); returns (predict function, held-out accuracy on a quarter kept apart)."""
    from sklearn.model_selection import train_test_split

    from ..classify import create_classifier, fit, predict_proba

    classes = sorted(set(patterns))
    y = np.array([classes.index(p) for p in patterns])
    size = x.shape[-1]

    def train(xs, ys):
        torch.manual_seed(seed)
        model = create_classifier(CNN["arch"], len(classes), input_size=size)
        fit(
            model, xs, ys, input_size=size, epochs=CNN["epochs"], lr=CNN["lr"], batch_size=CNN["batch_size"], seed=seed
        )
        return model

    ia, ib = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed, stratify=y)
    held = train(x[ia], y[ia])
    acc = float(np.mean(predict_proba(held, x[ib], input_size=size).argmax(1) == y[ib]))
    model = train(x, y)

    def predict(frames: np.ndarray) -> np.ndarray:
        f = frames.reshape(len(frames), 1, size, size).astype(np.float32)
        return np.array([classes[i] for i in predict_proba(model, f, input_size=size).argmax(1)])

    return predict, acc


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


def bench_generate(
    n: int = 32,
    size: int | None = None,
    seed: int = 0,
    workspace: str | Path | None = None,
    baseline_n: int = 8,
    checkpoint: str | None = None,
) -> dict:
    """n images per pattern with our sampler and `baseline_n` with the 1,000-step baseline (40 times slower),
    from the workspace's latest trained generator."""
    from diffusers import DDPMPipeline, DDPMScheduler

    from ..config import Settings
    from ..generate import load_generator, sample_batch
    from ..generate.sample import pattern_descriptions, prompt_for
    from ..generate.train import training_data
    from ..workspace import Workspace

    if workspace is None:
        raise ValueError("bench generate: --workspace with a trained generator is required")
    ws = Workspace.open(Settings(workspace=workspace))
    arts = ws.store.list_artifacts(kind="generator")
    if not arts:
        raise ValueError(f"{workspace}: no trained generator (scatterloop generate train first)")
    chosen = checkpoint or arts[-1].path
    unet, cond_model, sched_config = load_generator(ws.root / chosen, "cpu")
    x, patterns, _ = training_data(ws, unet.config.sample_size)
    clf, held_out = _pattern_classifier(x, patterns, seed)
    cnn, cnn_held_out = _cnn_classifier(x, patterns, seed)
    out: dict = {
        "bench": "generate",
        "n_per_pattern": n,
        "size": unet.config.sample_size,
        "machine": machine(),
        "checkpoint": chosen,
        "classifier": {
            "kind": f"{CNN['arch']} (our classifier loop) trained only on the experimental frames",
            **{k: v for k, v in CNN.items() if k != "arch"},
            "held_out_accuracy": round(cnn_held_out, 3),
        },
        "classifier_logreg": {
            "kind": "logistic regression on 32x32 experimental inputs (a second, simpler judge)",
            "held_out_accuracy": round(held_out, 3),
        },
    }
    exp_rings = x[[i for i, p in enumerate(patterns) if p == "rings"]][:n]
    out["experimental_rings_symmetry_median"] = round(float(np.median(_symmetry(exp_rings[:, 0]))), 3)
    classes = sorted(set(patterns))
    for name in ("ours_dpm++_25_steps_cfg2", "ddpm_pipeline_1000_steps")[: 2 if baseline_n else 1]:
        t0 = time.perf_counter()
        made: dict[str, np.ndarray] = {}
        m = n if name.startswith("ours") else min(n, baseline_n)
        for k, pattern in enumerate(classes):
            seeds = [seed + 1000 * k + i for i in range(m)]
            prompts = [prompt_for(None, pattern, pattern_descriptions(ws, pattern), s) for s in seeds]
            if name.startswith("ours"):
                made[pattern] = sample_batch(
                    unet,
                    cond_model,
                    sched_config,
                    patterns=[pattern] * m,
                    prompts=prompts,
                    seeds=seeds,
                    steps=25,
                    guidance=2.0,
                )
            else:
                with torch.no_grad():
                    cond = cond_model(cond_model.class_ids([pattern] * m), cond_model.encode_text(prompts))
                pipe = DDPMPipeline(
                    unet=_ConditionedUNet(unet, cond), scheduler=DDPMScheduler.from_config(sched_config)
                )
                pipe.set_progress_bar_config(disable=True)
                images = pipe(
                    batch_size=m,
                    generator=torch.Generator().manual_seed(seeds[0]),
                    num_inference_steps=1000,
                    output_type="np",
                ).images
                made[pattern] = images[..., 0] * 2 - 1
        seconds = time.perf_counter() - t0
        total = m * len(classes)
        rates = {p: round(float(np.mean(cnn(made[p]) == p)), 3) for p in classes}
        rates_lr = {p: round(float(np.mean(clf.predict(_features(made[p])) == p)), 3) for p in classes}
        out[name] = {
            "images": total,
            "seconds": round(seconds, 2),
            "images_per_s": round(total / seconds, 3),
            "recognised_as_asked": rates,
            "recognised_as_asked_logreg": rates_lr,
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
