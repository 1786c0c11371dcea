"""Self-supervised pretraining on every frame of a workspace: a backbone that has seen the detector's data.

A workspace holds hundreds to thousands of frames nobody has labelled. SimCLR (Chen et al. 2020) learns from
them alone: two random views of each frame are drawn with the augmentations that keep the physics (mirror,
small shifts of the beam, exposure scaling, a mild zoom and counting noise; the mask moves with the image, as
in `augment.augment_pairs`), and the backbone learns to tell a frame's other view apart from every other frame
in the batch (the NT-Xent loss). Random crops and colour jitter of natural-image SimCLR are left out: a crop
that cuts away an artefact would teach the encoder to ignore exactly what makes a candidate fake.

The encoder (the classifier's backbone without its head) is a workspace artifact, `runs/<id>/encoder/` with
`model.safetensors` and `config.json`, written under a temporary name and registered as kind `encoder` only
once complete. A round's networks start from the latest one of their architecture and channels when the recipe
asks (`Recipe.encoder`), and `pretrain_zero` builds a logistic "model zero" on its frozen features.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atomic import atomic_dir
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress, run_job
from ..workspace import Workspace
from .augment import augment_pairs
from .registry import create_classifier, spec_of
from .train import _half, model_batch

log = logging.getLogger(__name__)
ARTIFACT = "encoder"


@dataclass
class PretrainParams:
    """What the encoder learns from and how long; defaults sized for a few hundred frames on a CPU."""

    arch: str = "resnet18"
    input_size: int = 128
    channels: int = 3  # as the recipe's networks: image, mask, high-pass (inputs.to_channels)
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.2  # NT-Xent; SimCLR's 0.1-0.5 range, lower for small batches
    projection_dim: int = 64
    max_images: int | None = None  # None: every frame of the workspace
    device: str | None = None
    seed: int = 0


@dataclass
class PretrainResult:
    run_id: int
    encoder: str  # the artifact folder, relative to the workspace
    arch: str
    input_size: int
    channels: int
    images: int
    history: list[dict] = field(default_factory=list)  # per epoch: loss, contrast_acc (own view found first)
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """SimCLR's loss over 2N views: each view's other view is the positive, the other 2N - 2 the negatives.

    Returns (mean loss, fraction of views whose most similar other view is their own partner)."""
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target), (sim.argmax(1) == target).float().mean()


def views(pairs: torch.Tensor, gen: torch.Generator, *, zoom: float = 0.15, noise: float = 0.05) -> torch.Tensor:
    """One random view of each (image, valid) pair: `augment_pairs` (mirror, shift, exposure), a zoom in by up
    to `zoom` about a random point near the centre, and Gaussian noise of `noise` on valid pixels (the counting
    noise of another exposure, in log units). Randomness comes from `gen` on the CPU, so runs repeat."""
    b = pairs.shape[0]
    out = augment_pairs(pairs, gen, max_shift=0.06, exposure=0.25)
    if zoom > 0:
        scale = 1 - torch.rand(b, generator=gen) * zoom
        shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * (1 - scale).unsqueeze(1)
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = scale, scale, shift
        grid = F.affine_grid(theta.to(out.device, out.dtype), list(out.shape), align_corners=False)
        out = F.grid_sample(out, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if noise > 0:
        eps = torch.randn(out[:, 0].shape, generator=gen).to(out.device) * noise
        out[:, 0] = torch.where(out[:, 1] > 0.5, out[:, 0] + eps, out[:, 0])
    return out


class SimCLR(nn.Module):
    """A backbone (a registry classifier without its head) and SimCLR's projection head."""

    def __init__(self, arch: str, channels: int, input_size: int, projection_dim: int = 64):
        super().__init__()
        if spec_of(arch).library != "timm":
            raise ValueError(f"pretrain: arch must be a timm model of the registry, got {arch!r}")
        self.backbone = create_classifier(arch, 0, input_size=input_size, in_chans=channels)
        d = self.backbone.num_features
        self.projection = nn.Sequential(
            nn.Linear(d, d), nn.BatchNorm1d(d), nn.ReLU(inplace=True), nn.Linear(d, projection_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.backbone(x))


def pretrain_encoder(
    pairs: np.ndarray,
    params: PretrainParams,
    *,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> tuple[nn.Module, list[dict], float]:
    """Train a SimCLR backbone on (N, 2, S, S) pairs; returns (backbone on the CPU, history, images per s)."""
    if len(pairs) < 2:
        raise ValueError(f"pretrain: needs two or more frames in the workspace, found {len(pairs)}")
    torch.manual_seed(params.seed)
    gen = torch.Generator().manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    model = SimCLR(params.arch, params.channels, params.input_size, params.projection_dim).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    bs = max(2, min(params.batch_size, len(pairs)))
    n_batches = len(pairs) // bs  # whole batches only: the negatives of every step are as many
    total = params.epochs * n_batches
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, params.lr, total_steps=total, pct_start=0.1)
    half = _half(device)
    history, seen, t0 = [], 0, time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        model.train()
        order = rng.permutation(len(pairs))
        losses, accs = [], []
        for b in range(n_batches):
            check_stop(should_stop)
            pb = torch.from_numpy(pairs[order[b * bs : (b + 1) * bs]]).to(device, non_blocking=True)
            x1 = model_batch(views(pb, gen), params.input_size, params.channels)
            x2 = model_batch(views(pb, gen), params.input_size, params.channels)
            with torch.autocast("cuda", dtype=half, enabled=half is not None):
                z = model(torch.cat([x1, x2]))
            loss, acc = nt_xent(z[: len(pb)], z[len(pb) :], params.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            accs.append(float(acc))
            seen += 2 * len(pb)
            progress(
                (epoch - 1) * n_batches + b + 1, total, f"pretrain epoch {epoch}/{params.epochs} loss {losses[-1]:.3f}"
            )
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "contrast_acc": float(np.mean(accs))})
    secs = time.perf_counter() - t0
    return model.backbone.cpu().eval(), history, (seen / secs if secs else 0.0)


def pretrain(
    ws: Workspace,
    run_id: int,
    params: PretrainParams,
    *,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> PretrainResult:
    """SimCLR on every frame of the workspace (labelled or not); the encoder is saved and registered."""
    from ..embed.autoencoder import pick_device
    from .inputs import load_inputs

    spec_of(params.arch)
    t0 = time.perf_counter()
    images = [img for img, _ in ws.store.list_images()]
    if params.max_images and len(images) > params.max_images:
        pick = np.random.default_rng(params.seed).choice(len(images), params.max_images, replace=False)
        images = [images[i] for i in sorted(pick)]
    pairs = load_inputs(ws, images, params.input_size, progress=progress, should_stop=should_stop)
    device = pick_device(params.device)
    backbone, history, ips = pretrain_encoder(pairs, params, device=device, progress=progress, should_stop=should_stop)
    check_stop(should_stop)
    folder = ws.run_dir(run_id) / ARTIFACT
    config = {**asdict(params), "images": len(images), "num_features": int(backbone.num_features)}
    with atomic_dir(folder) as tmp:  # complete files first, then the record
        save_encoder(backbone, config, tmp)
    meta = {k: config[k] for k in ("arch", "input_size", "channels", "epochs", "images")}
    ws.store.add_artifact(ARTIFACT, ws.relative(folder), run_id=run_id, meta={**meta, "loss": history[-1]["loss"]})
    return PretrainResult(
        run_id=run_id,
        encoder=ws.relative(folder),
        arch=params.arch,
        input_size=params.input_size,
        channels=params.channels,
        images=len(images),
        history=history,
        seconds=round(time.perf_counter() - t0, 2),
        images_per_s=round(ips, 2),
        device=device,
    )


def run_pretrain(ws: Workspace, params: PretrainParams, *, progress: ProgressFn = no_progress):
    """`pretrain` as a recorded run of kind `pretrain` (listed in the Jobs view); returns (run id, result)."""
    return run_job(
        ws.store,
        "pretrain",
        asdict(params),
        lambda run_id, progress, should_stop: pretrain(ws, run_id, params, progress=progress, should_stop=should_stop),
        progress=progress,
    )


def save_encoder(backbone: nn.Module, config: dict, folder: str | Path) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in backbone.state_dict().items()}, folder / "model.safetensors"
    )
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    return folder


def read_encoder(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, config) of a saved encoder; a clear error naming the folder when it is not one."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        raise ValueError(f"{folder}: not a saved encoder (model.safetensors and config.json expected)")
    return load_file(folder / "model.safetensors"), json.loads((folder / "config.json").read_text())


def latest_encoder(ws: Workspace, arch: str, channels: int) -> str | None:
    """The newest finished encoder artifact of `arch` with `channels` inputs (path relative to the workspace)."""
    arts = [
        a
        for a in ws.store.list_artifacts(kind=ARTIFACT)
        if a.meta.get("arch") == arch and int(a.meta.get("channels") or 0) == channels
    ]
    return arts[-1].path if arts else None


def init_from_encoder(model: nn.Module, folder: str | Path) -> int:
    """Copy a saved encoder into a classifier of the same architecture, leaving only its new head untouched.

    Returns how many tensors were copied; a ValueError when the encoder does not fit the model."""
    state, config = read_encoder(folder)
    head = getattr(model, "pretrained_cfg", {}).get("classifier") or "fc"
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of another shape: another architecture or number of channels
        raise ValueError(f"{folder}: the encoder ({config.get('arch')}) does not fit this model: {exc}") from exc
    stray = [k for k in missing if not k.startswith(head + ".")]
    if unexpected or stray:
        raise ValueError(
            f"{folder}: the encoder ({config.get('arch')}) does not fit this model: "
            f"{len(stray)} of its tensors missing, {len(unexpected)} unexpected"
        )
    return len(state)
