"""Why a classifier said what it said: saliency and Grad-CAM maps for one image (captum).

Grad-CAM reads the last convolution of the network (for ViTs that is the patch embedding, so its map is
coarse by construction); saliency is the gradient of the class score with respect to the input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Explanation:
    predicted: str
    confidence: float
    saliency: np.ndarray  # (S, S) in [0, 1], at the input's size
    gradcam: np.ndarray  # (S, S) in [0, 1], upsampled to the input's size
    layer: str


def last_conv(model: torch.nn.Module) -> tuple[str, torch.nn.Module]:
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not found:
        raise ValueError("model has no convolution for Grad-CAM")
    return found[-1]


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(a.astype(np.float64))
    span = a.max() - a.min()
    return ((a - a.min()) / span if span > 0 else np.zeros_like(a)).astype(np.float32)


def explain(
    model: torch.nn.Module,
    x: np.ndarray,
    classes: list[str],
    input_size: int,
    *,
    channels: int = 1,
    temperature: float = 1.0,
) -> Explanation:
    """Maps for one input with respect to the predicted class: `x` is an image (S, S) in [-1, 1] or an
    (image, valid) pair (2, S, S) from `inputs.image_input`; the model sees its own `channels`."""
    from captum.attr import LayerAttribution, LayerGradCam, Saliency

    from .train import as_pairs, model_batch

    model = model.cpu().eval()
    s = x.shape[-1]
    pair = x[None] if x.ndim == 3 else x[None, None]
    inp = model_batch(torch.from_numpy(as_pairs(np.ascontiguousarray(pair, dtype=np.float32))), input_size, channels)
    with torch.no_grad():
        prob = torch.softmax(model(inp) / temperature, 1)[0]
    target = int(prob.argmax())
    sal = Saliency(model).attribute(inp.clone().requires_grad_(True), target=target, abs=True)
    name, layer = last_conv(model)
    cam = LayerGradCam(model, layer).attribute(inp, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, (s, s), interpolate_mode="bilinear")
    sal = F.interpolate(sal, size=(s, s), mode="bilinear", align_corners=False) if sal.shape[-1] != s else sal
    return Explanation(
        predicted=classes[target],
        confidence=float(prob[target]),
        saliency=_unit(sal[0, 0].detach().numpy()),
        gradcam=_unit(cam[0, 0].detach().numpy()),
        layer=name,
    )


def overlay_png(x: np.ndarray, heat: np.ndarray | None = None) -> bytes:
    """A PNG of `x` ([-1, 1]) in gray, with `heat` ([0, 1]) laid over it in red when given."""
    import io

    from PIL import Image

    gray = ((np.clip(x, -1, 1) + 1) * 127.5).astype(np.float32)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    if heat is not None:
        a = (0.75 * np.clip(heat, 0, 1))[..., None]
        rgb = rgb * (1 - a) + np.array([255.0, 40.0, 0.0]) * a
    buf = io.BytesIO()
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).resize((256, 256), Image.NEAREST).save(buf, format="PNG")
    return buf.getvalue()
