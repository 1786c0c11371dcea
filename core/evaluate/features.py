"""Feature extractors for the distribution metrics.

By default the workspace's own autoencoder (the Explore map's, trained on its experimental frames): it
needs no downloaded weights. Inception-v3 comes only from a local weights file (torchvision's ImageNet
`inception_v3_google-*.pth` layout); inputs are handled as pytorch-fid does: values in [0, 1], bilinear
resize to 299×299, scaled to [-1, 1], the gray channel repeated to three; features are the 2,048-d pool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


class AutoencoderFeatures:
    """Encoder latents of a map run's autoencoder."""

    def __init__(self, folder: str | Path, label: str):
        from ..embed.autoencoder import ConvAutoencoder

        self.model = ConvAutoencoder.from_pretrained(Path(folder), device="cpu")
        self.size = self.model.config.size
        self.dim = self.model.config.latent_dim
        self.name = f"autoencoder latents ({label}, {self.dim}-d)"
        self.has_classes = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from ..embed.autoencoder import encode

        return encode(self.model, x.astype(np.float32)).astype(np.float64)


class InceptionFeatures:
    """Inception-v3 pool features (and ImageNet class probabilities for the Inception Score)."""

    def __init__(self, weights: str | Path, device: str = "cpu", batch_size: int = 32):
        import torchvision

        path = Path(weights)
        if not path.is_file():
            raise ValueError(f"{path}: Inception-v3 weights file not found")
        model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
        try:  # an empty, truncated or foreign file raises whatever its loader raises: say which file and why
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(path)
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise ValueError(f"{path}: not Inception-v3 weights ({reason})") from exc
        model.transform_input = False
        self.model = model.to(device).eval()
        self.device, self.batch_size, self.size = device, batch_size, 299
        self.dim = 2048
        self.name = f"Inception-v3 pool3 ({path.name}, 2048-d)"
        self.has_classes = True
        self._pool: list[torch.Tensor] = []
        self.model.avgpool.register_forward_hook(lambda _m, _i, out: self._pool.append(out.flatten(1)))

    @torch.no_grad()
    def features_and_probs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        for start in range(0, len(x), self.batch_size):
            xb = torch.from_numpy(x[start : start + self.batch_size].astype(np.float32)).to(self.device)
            xb = (xb + 1) / 2  # our inputs are in [-1, 1]; pytorch-fid starts from [0, 1]
            xb = F.interpolate(xb, size=(299, 299), mode="bilinear", align_corners=False)
            xb = (2 * xb - 1).repeat(1, 3, 1, 1)
            self._pool.clear()
            logits = self.model(xb)
            feats.append(self._pool[-1].double().cpu().numpy())
            probs.append(torch.softmax(logits.double(), 1).cpu().numpy())
        return np.concatenate(feats), np.concatenate(probs)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.features_and_probs(x)[0]
