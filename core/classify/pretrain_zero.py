"""Model zero: one logistic layer on a frozen pretrained encoder's features and the physics features.

With twenty or thirty labels a network cannot be trained, but a linear model can, if its inputs already say
what matters: the self-supervised encoder (`pretrain`) has learnt from every frame of the workspace what frames
look like, and the physics features (robust z-scores against the experimental frames, as the physics model
sees them) say how far a candidate departs from real ones. Model zero concatenates both, standardises them
and fits one class-balanced, L2-penalised logistic layer by full-batch L-BFGS: seconds on a CPU. Its encoder
is saved inside it (frozen, safetensors like every model), so predictions need nothing else; it is
temperature-calibrated on validation like every member of a round.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from .featmodel import FeatureClassifier
from .physics import FEATURES
from .train import model_batch

N_PHYSICS = len(FEATURES) + 1  # the features and, last, the pattern group (`features_data.with_groups`)


class ZeroClassifier(nn.Module):
    """Input (N, F + 1 + D): physics features with their group, then the frozen encoder's D features
    (`zero_inputs` builds it from (image, valid) pairs)."""

    def __init__(
        self,
        num_classes: int,
        encoder_arch: str = "resnet18",
        in_chans: int = 3,
        input_size: int = 128,
        n_features: int | None = None,
    ):
        super().__init__()
        from .registry import create_classifier

        self.encoder = create_classifier(encoder_arch, 0, input_size=input_size, in_chans=in_chans)
        self.encoder.requires_grad_(False)
        # its reference statistics and `phi` only; fewer features: a model saved before the newest were appended
        self.physics = FeatureClassifier(num_classes, n_features=n_features)
        d = 2 * self.physics.n_features + 1 + self.encoder.num_features
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.head = nn.Linear(d, num_classes)
        self.num_classes = num_classes

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: batch-norm statistics stay the pretrained ones
        return self

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder features of a network input batch (B, C, S, S)."""
        return self.encoder.eval()(x).flatten(1).float()

    def standardised(self, z: torch.Tensor) -> torch.Tensor:
        phi, _ = self.physics.phi(z[:, :N_PHYSICS])
        return (torch.cat([phi, z[:, N_PHYSICS:]], 1) - self.mean) / self.std

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.standardised(z))


@torch.no_grad()
def zero_inputs(
    model: ZeroClassifier,
    feats: np.ndarray,
    pairs: np.ndarray,
    *,
    input_size: int,
    channels: int,
    device: str = "cpu",
    batch_size: int = 64,
    should_stop: StopFn = never_stop,
) -> np.ndarray:
    """(N, F + 1 + D): `feats` (physics features with groups) beside the encoder's features of `pairs`."""
    model.encoder.to(device)
    out = []
    for start in range(0, len(pairs), batch_size):
        check_stop(should_stop)
        pb = torch.from_numpy(np.asarray(pairs[start : start + batch_size], np.float32)).to(device)
        out.append(model.encode(model_batch(pb, input_size, channels)).cpu().numpy())
    model.encoder.cpu()
    enc = np.concatenate(out) if out else np.zeros((0, model.encoder.num_features), np.float32)
    return np.concatenate([np.asarray(feats, np.float32), enc], 1)


def fit_zero(model: ZeroClassifier, z: np.ndarray, y: np.ndarray, *, c: float = 0.1, balance: bool = True) -> dict:
    """Fit the logistic layer: summed (class-balanced) cross-entropy plus ||W||² / (2C), as scikit-learn's
    LogisticRegression, on inputs standardised by the training set. Returns final loss and training accuracy."""
    zt = torch.as_tensor(np.asarray(z, np.float32))
    yt = torch.as_tensor(np.asarray(y, np.int64))
    k = model.num_classes
    counts = torch.bincount(yt, minlength=k).float()
    weight = (counts.sum() / (k * counts.clamp_min(1))) if balance else torch.ones(k)
    with torch.no_grad():
        model.mean.zero_()
        model.std.fill_(1.0)
        u = model.standardised(zt)
        model.mean.copy_(u.mean(0))
        model.std.copy_(u.std(0).clamp_min(1e-3) if len(zt) > 1 else torch.ones_like(model.std))
        model.head.weight.zero_()
        model.head.bias.zero_()
    opt = torch.optim.LBFGS(model.head.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(zt), yt, weight=weight, reduction="sum") + model.head.weight.pow(2).sum() / (
            2 * c
        )
        loss.backward()
        return loss

    loss = float(opt.step(closure).detach())
    model.eval()
    with torch.no_grad():
        acc = float((model(zt).argmax(1) == yt).float().mean())
    return {"loss": loss / max(1, len(zt)), "train_acc": acc}


@torch.no_grad()
def zero_logits(model: ZeroClassifier, z: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.as_tensor(np.asarray(z, np.float32))).double().numpy()


def round_zero(
    ws,
    channels: int,
    split,
    train_imgs: list,
    val_imgs: list,
    *,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> dict:
    """Model zero for a round: built on the workspace's latest encoder with the recipe's `channels`, reference
    statistics from the experimental frames, fitted on the training labels. Returns the model, validation
    logits, the (inputs, labels) of every label for a final fit, and what the round records."""
    from .features_data import feature_inputs
    from .inputs import load_inputs
    from .pretrain import read_encoder

    arts = [a for a in ws.store.list_artifacts(kind="encoder") if int(a.meta.get("channels") or 0) == channels]
    if not arts:
        raise ValueError(
            f"zero: no pretrained encoder with {channels} input channels in this workspace; "
            "run `scatterloop classify pretrain` first"
        )
    enc = arts[-1].path
    state, cfg = read_encoder(ws.root / enc)
    size = int(cfg["input_size"])
    model = ZeroClassifier(len(split.classes), cfg["arch"], channels, size)
    model.encoder.load_state_dict(state)
    xf, xfv, ref = feature_inputs(ws, train_imgs, val_imgs, progress=progress, should_stop=should_stop)
    model.physics.use_groups.fill_(split.task != "pattern")
    used = model.physics.set_reference(*ref)
    z = zero_inputs(model, xf, load_inputs(ws, train_imgs, size, should_stop=should_stop), input_size=size,
                    channels=channels, device=device, should_stop=should_stop)  # fmt: skip
    zv = zero_inputs(model, xfv, load_inputs(ws, val_imgs, size, should_stop=should_stop), input_size=size,
                     channels=channels, device=device, should_stop=should_stop)  # fmt: skip
    fitted = fit_zero(model, z, split.train_y)
    return {
        "model": model,
        "logits": zero_logits(model, zv),
        "fitted": fitted,
        "final": (np.concatenate([z, zv]), np.concatenate([split.train_y, split.val_y])),
        "input_size": size,
        "encoder": enc,
        "encoder_arch": cfg["arch"],
        "reference_frames": used,
    }
