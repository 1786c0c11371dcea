"""Classifier benchmarks: training throughput against a bare timm loop, the human-in-the-loop rounds with an
oracle annotator on simulated candidates with known truth, and the 19-class speckle task."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import job, stage, step
from .io_bench import machine

CPU_MODELS = "resnet18,squeezenet,alexnet"


def _simulated_workspace(root: Path, candidates: int, experimental: int, size: int, seed: int):
    """A workspace of simulated candidates (half hallucinated, truth kept) and physical 'experimental' frames."""
    from ..config import Settings
    from ..ingest import import_paths
    from ..simulate import PATTERNS, simulate_dataset
    from ..workspace import Workspace

    ws = Workspace.open(Settings(workspace=root / "ws"))
    per_c, per_e = -(-candidates // len(PATTERNS)), -(-experimental // len(PATTERNS))
    for i, pattern in enumerate(PATTERNS):
        simulate_dataset(pattern, per_c, root / "sim" / "cand", seed=seed + 10 + i, size=size, artifacts="0.5")
        if per_e:
            simulate_dataset(pattern, per_e, root / "sim" / "exp", seed=seed + 20 + i, size=size)
    if per_e:
        import_paths(ws, [root / "sim" / "exp"], source="experimental")
    import_paths(ws, [root / "sim" / "cand"], source="generated", round=ws.store.current_round())
    return ws


def _truth(img) -> str:
    return "realistic" if (img.truth or {}).get("realistic") else "fake"


def _bare_timm_loop(x: torch.Tensor, y: torch.Tensor, arch: str, size: int, epochs: int, batch: int, seed: int):
    """The baseline: timm's model, Adam, cross-entropy, batches of ready tensors, nothing else."""
    from ..classify.registry import create_classifier

    torch.manual_seed(seed)
    model = create_classifier(arch, 2, input_size=size).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    t0, seen = time.perf_counter(), 0
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for b in range(0, len(x), batch):
            idx = perm[b : b + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
    return seen / (time.perf_counter() - t0)


def bench_train(
    n: int = 600, size: int = 64, seed: int = 0, models: str | None = None, epochs: int | None = None
) -> dict:
    """Our loop against a bare timm loop (same model, batch, data), then one round of the eight at `size` px."""
    from ..classify import PAPER_MODELS, RoundParams, fit, train_round
    from ..embed.inputs import load_inputs

    arch = (models or "resnet18").split(",")[0]
    out: dict = {"bench": "train", "machine": machine(), "size": size, "batch": 32, "model": arch}
    with tempfile.TemporaryDirectory() as tmp:
        ws = _simulated_workspace(Path(tmp), int(n * 1.25), n, size, seed)
        gen = [img for img, _ in ws.store.list_images() if img.source == "generated"]
        x, _ = load_inputs(ws, gen[:n], size)
        y = np.array([int(_truth(img) == "realistic") for img in gen[:n]])
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        ours, bare = [], []
        for rep in range(2):  # alternate, best of two: the machine is shared with whatever else runs
            bare.append(_bare_timm_loop(xt, yt, arch, size, 1, 32, seed + rep))
            from ..classify.registry import create_classifier

            torch.manual_seed(seed + rep)
            model = create_classifier(arch, 2, input_size=size)
            ours.append(fit(model, x, y, input_size=size, epochs=1, batch_size=32, seed=seed + rep).images_per_s)
        out["throughput"] = {
            "ours_images_per_s": round(max(ours), 1),
            "bare_timm_images_per_s": round(max(bare), 1),
            "ratio": round(max(ours) / max(bare), 3),
            "goal_ratio": 0.95,
            "runs": {"ours": [round(v, 1) for v in ours], "bare": [round(v, 1) for v in bare]},
            "images": n,
        }
        for img in gen[: int(n * 1.25)]:
            ws.store.add_labels([img.id], _truth(img), "oracle")
        params = RoundParams(models=PAPER_MODELS, epochs=epochs or 1, input_size=size, seed=seed)
        t0 = time.perf_counter()
        _, res = job(
            ws.store,
            "classify",
            lambda run_id, progress, should_stop: train_round(
                ws, params, run_id=run_id, progress=progress, should_stop=should_stop
            ),
            "a round of the paper's eight models",
        )
        out["round_of_eight"] = {
            "wall_s": round(time.perf_counter() - t0, 1),
            "epochs": params.epochs,
            "train_images": res.sets["train"],
            "validation_images": res.sets["validation"],
            "per_model": {
                a: {"seconds": m["seconds"], "images_per_s": m["images_per_s"], "input_size": m["input_size"]}
                for a, m in res.models.items()
            },
        }
        ws.store.dispose()
    return out


def bench_speckle(
    n: int = 40, size: int = 64, seed: int = 0, models: str | None = None, epochs: int | None = None
) -> dict:
    """ResNet-50 (or `models`) on the 19-class monodisperse speckle task: n patterns per disk count 2–20."""
    from ..classify import create_classifier, fit, predict_proba, scores
    from ..classify.registry import spec_of
    from ..io import resize
    from ..simulate.dataset import check_frame_args
    from ..simulate.speckle import simulate_speckle

    names = [m.strip() for m in (models or "resnet50").split(",") if m.strip()]
    if len(names) != 1:
        raise ValueError(f"--models: bench speckle trains one network, got {', '.join(names) or 'none'}")
    arch = names[0]
    if spec_of(arch).library not in ("timm", "torchvision"):  # an unknown name is refused by spec_of, one line
        raise ValueError(f"--models: bench speckle trains a network on the images; {arch} reads physics features")
    if n < 2:
        raise ValueError(f"--n: bench speckle needs 2 or more patterns per disk count (one validates), got {n}")
    check_frame_args(size, seed)
    classes = [str(k) for k in range(2, 21)]
    t0 = time.perf_counter()
    xs, ys = [], []
    for c, k in enumerate(range(2, 21)):
        step(c, 19, "simulating speckle patterns")
        for i in range(n):
            sp = simulate_speckle(k, np.random.default_rng([seed, k, i]), grid=257, dispersity="mono")
            xs.append(np.clip(resize(sp.image, size) / 4.0, -1, 1))
            ys.append(c)
    x = np.stack(xs)[:, None].astype(np.float32)
    y = np.array(ys)
    sim_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), bool)
    for c in range(len(classes)):
        members = np.flatnonzero(y == c)
        val[rng.choice(members, size=max(1, len(members) // 5), replace=False)] = True
    torch.manual_seed(seed)
    model = create_classifier(arch, len(classes), input_size=size)
    res = fit(
        model, x[~val], y[~val], input_size=size, epochs=epochs or 15, lr=1e-3, batch_size=32, seed=seed,
        progress=stage(arch),
    )  # fmt: skip
    pred = predict_proba(model, x[val], input_size=size).argmax(1)
    s = scores(y[val], pred, classes)
    return {
        "bench": "speckle",
        "machine": machine(),
        "model": arch,
        "patterns_per_class": n,
        "classes": classes,
        "size": size,
        "grid": 257,
        "epochs": epochs or 15,
        "lr": 1e-3,
        "train": int((~val).sum()),
        "test": int(val.sum()),
        "accuracy": round(s["accuracy"], 4),
        "macro_f1": round(s["f1"], 4),
        "chance": round(1 / len(classes), 4),
        "within_one_disk": round(float(np.mean(np.abs(pred - y[val]) <= 1)), 4),
        "confusion": s["confusion"],
        "simulate_s": round(sim_s, 1),
        "train_s": round(res.seconds, 1),
        "loss_per_epoch": [round(h["loss"], 4) for h in res.history],
        "published": {"monodisperse_19000_patterns": 0.999, "polydisperse": 0.89},
    }
