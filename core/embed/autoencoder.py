"""A small convolutional autoencoder trained self-supervised on experimental frames, as in the paper.

The loss is a mean squared error over valid pixels only, so detector gaps and dead pixels teach nothing.
Saved as `config.json` + `model.safetensors`; never pickled.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress


@dataclass
class AEConfig:
    size: int = 64
    latent_dim: int = 32
    channels: tuple[int, ...] = (16, 32, 64, 128)

    def __post_init__(self):
        self.channels = tuple(self.channels)
        if self.size % (2 ** len(self.channels)):
            raise ValueError(f"size: {self.size} must be divisible by {2 ** len(self.channels)}")


class ConvAutoencoder(nn.Module):
    def __init__(self, config: AEConfig):
        super().__init__()
        self.config = config
        chans = (1, *config.channels)
        enc = []
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            enc += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.GroupNorm(min(8, cout), cout), nn.SiLU()]
        self.encoder = nn.Sequential(*enc)
        self.side = config.size // 2 ** len(config.channels)
        flat = chans[-1] * self.side * self.side
        self.to_latent = nn.Linear(flat, config.latent_dim)
        self.from_latent = nn.Linear(config.latent_dim, flat)
        dec = []
        rev = chans[::-1]
        for cin, cout in zip(rev[:-1], rev[1:], strict=True):
            dec.append(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))
            if cout != 1:
                dec += [nn.GroupNorm(min(8, cout), cout), nn.SiLU()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.encoder(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(-1, self.config.channels[-1], self.side, self.side)
        return torch.tanh(self.decoder(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def save_pretrained(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(asdict(self.config)))
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()},
            str(directory / "model.safetensors"),
        )

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str = "cpu") -> ConvAutoencoder:
        from safetensors.torch import load_file

        directory = Path(directory)
        model = cls(AEConfig(**json.loads((directory / "config.json").read_text())))
        model.load_state_dict(load_file(str(directory / "model.safetensors"), device=device))
        return model.to(device).eval()


def masked_mse(recon: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid pixels (valid in [0, 1] after resizing a boolean mask)."""
    return ((recon - target) ** 2 * valid).sum() / valid.sum().clamp_min(1.0)


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)  # one per epoch
    device: str = "cpu"
    seconds: float = 0.0


def pick_device(device: str | None = None) -> str:
    """CUDA when present and not told otherwise; the first touch of CUDA happens here, inside the job.

    Raises:
        ValueError: `device` is not cpu, cuda, cuda:N or mps, or names an accelerator this machine lacks (said
            before a model is built, not as a driver's RuntimeError halfway through).
    """
    if not device:
        return "cuda" if torch.cuda.is_available() else "cpu"
    name = str(device).strip().lower()
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"device: expected cpu, cuda, cuda:N or mps, got {str(device)[:40]!r}")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name}: torch sees no CUDA GPU on this machine (use cpu, or leave it unset)")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device mps: no Apple GPU on this machine")
    return name


def train_autoencoder(
    x: np.ndarray,
    valid: np.ndarray,
    config: AEConfig,
    *,
    epochs: int = 30,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> tuple[ConvAutoencoder, TrainResult]:
    """Train on (N, 1, S, S) inputs with their valid maps; a plain readable loop."""
    import time

    t0 = time.perf_counter()
    device = pick_device(device)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ConvAutoencoder(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    xt, vt = torch.from_numpy(x), torch.from_numpy(valid)
    result = TrainResult(device=device)
    n = len(xt)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            check_stop(should_stop)
            idx = order[start : start + batch_size]
            xb, vb = xt[idx].to(device), vt[idx].to(device)
            loss = masked_mse(model(xb), xb, vb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        sched.step()
        result.losses.append(total / max(seen, 1))
        progress(epoch + 1, epochs, f"autoencoder epoch {epoch + 1}/{epochs} loss {result.losses[-1]:.4f}")
    result.seconds = time.perf_counter() - t0
    return model.eval(), result


@torch.no_grad()
def encode(model: ConvAutoencoder, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    device = next(model.parameters()).device
    out = [
        model.encode(torch.from_numpy(x[i : i + batch_size]).to(device)).cpu().numpy()
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, model.config.latent_dim), np.float32)


@torch.no_grad()
def reconstruct(model: ConvAutoencoder, x: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    return model(torch.from_numpy(x).to(device)).cpu().numpy()
