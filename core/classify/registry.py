"""The classifier registry: the paper's eight architectures plus small CPU-friendly ones.

timm builds every model it has (grayscale through `in_chans=1`, which also folds ImageNet RGB filters into
one channel when weights are loaded); torchvision builds AlexNet and SqueezeNet, whose first convolution is
folded the same way with timm's `adapt_input_conv`. Pretrained weights come only from a local file or
directory; nothing is downloaded. Saved models are safetensors plus a JSON config, never pickles.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchSpec:
    """One entry of the registry: where the model comes from and the input size it was designed for."""

    name: str
    library: Literal["timm", "torchvision", "features", "hybrid"]
    model_id: str
    input_size: int  # the size the architecture was published with (ImageNet weights expect it)
    min_size: int  # the smallest input the network accepts
    paper: bool  # one of the paper's eight
    size_kwarg: bool = False  # timm takes `img_size=` (ViTs: position embeddings are built for it)


REGISTRY: dict[str, ArchSpec] = {
    s.name: s
    for s in (
        ArchSpec("vit_b16", "timm", "vit_base_patch16_224", 224, 16, True, size_kwarg=True),
        ArchSpec("vit_b32", "timm", "vit_base_patch32_224", 224, 32, True, size_kwarg=True),
        ArchSpec("resnet50", "timm", "resnet50", 224, 32, True),
        ArchSpec("alexnet", "torchvision", "alexnet", 224, 63, True),
        ArchSpec("vgg11", "timm", "vgg11", 224, 32, True),
        ArchSpec("squeezenet", "torchvision", "squeezenet1_1", 224, 32, True),
        ArchSpec("densenet121", "timm", "densenet121", 224, 32, True),
        ArchSpec("inception_v3", "timm", "inception_v3", 299, 75, True),
        ArchSpec("resnet18", "timm", "resnet18", 224, 32, False),
        ArchSpec("tiny", "timm", "test_resnet", 160, 16, False),
        ArchSpec("physics", "features", "physics", 0, 0, False),
        ArchSpec("physics_forest", "features", "physics_forest", 0, 0, False),  # forest.FeatureForest
        ArchSpec("zero", "hybrid", "resnet18", 128, 16, False),  # pretrain_zero: on a pretrained encoder
    )
}
PAPER_MODELS = tuple(n for n, s in REGISTRY.items() if s.paper)


@dataclass
class ClassifierConfig:
    """What is needed to rebuild a trained classifier: architecture, classes and input size."""

    arch: str
    classes: list[str]
    input_size: int
    pretrained: str | None = None  # the local weights it started from, None when trained from scratch
    channels: int = 1  # input channels: 1 image, 2 + mask, 3 + high-pass (inputs.to_channels)
    temperature: float = 1.0  # fitted on validation (calibrate.fit_temperature); probabilities use logits / T
    recipe: str = "paper"
    encoder: str | None = None  # model zero: the architecture of its frozen encoder

    @property
    def kind(self) -> str:
        lib = spec_of(self.arch).library
        return lib if lib in ("features", "hybrid") else "image"


def input_size_for(arch: str, requested: int | None) -> int:
    """The architecture's own size when none is asked for; never below what the network accepts."""
    spec = spec_of(arch)
    size = int(requested or spec.input_size)
    if size < spec.min_size:
        log.info("%s: input size %d raised to its minimum %d", arch, size, spec.min_size)
        size = spec.min_size
    return size


def spec_of(arch: str) -> ArchSpec:
    if arch not in REGISTRY:
        raise ValueError(f"model: expected one of {sorted(REGISTRY)}, got {arch!r}")
    return REGISTRY[arch]


def create_classifier(
    arch: str,
    num_classes: int,
    *,
    input_size: int | None = None,
    pretrained: str | Path | None = None,
    in_chans: int = 1,
    encoder: str | None = None,
    n_features: int | None = None,
) -> torch.nn.Module:
    """A grayscale classifier with `num_classes` outputs, from scratch or from local ImageNet weights.

    Args:
        arch: a registry name (`REGISTRY`).
        num_classes: outputs of the new head (the pretrained head is never kept).
        input_size: the square input the model will see; ViTs build their position embeddings for it.
        pretrained: a local weights file (`.safetensors`, `.pth`, `.bin`) or a directory holding one.
        in_chans: input channels (1 image; 2 with the mask; 3 with a high-pass of the image). ImageNet RGB
            filters are folded into them by timm's `adapt_input_conv`.
        encoder: model zero only: the registry name of its frozen encoder (default: the spec's `model_id`).
        n_features: physics and hybrid models only: how many of `physics.FEATURES` they read (default all; a
            saved model, the number it was trained on).
    """
    spec = spec_of(arch)
    if spec.library == "features":
        from .featmodel import FeatureClassifier
        from .forest import FeatureForest

        cls = FeatureForest if spec.model_id == "physics_forest" else FeatureClassifier
        return cls(num_classes, n_features=n_features)
    size = input_size_for(arch, input_size)
    if spec.library == "hybrid":
        from .pretrain_zero import ZeroClassifier

        return ZeroClassifier(num_classes, encoder or spec.model_id, in_chans, size, n_features=n_features)
    weights = _weights_file(pretrained) if pretrained else None
    try:
        if spec.library == "timm":
            import timm

            kwargs: dict = {"num_classes": num_classes, "in_chans": in_chans}
            if spec.size_kwarg:
                kwargs["img_size"] = size
            if weights is not None:
                kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(weights)})
            return timm.create_model(spec.model_id, **kwargs)
        return _torchvision_model(spec, num_classes, weights, in_chans)
    except Exception as exc:
        if weights is None or isinstance(exc, ValueError | ImportError | MemoryError):  # not the file's fault
            raise
        said = " ".join(str(exc).split())[:160]  # a pickle, a database, weights of another network...
        raise ValueError(
            f"pretrained {arch}={weights}: not readable as {arch} weights ({type(exc).__name__}: {said})"
        ) from exc


def find_local_weights(weights_dir: str | Path | None, arch: str) -> Path | None:
    """`<weights_dir>/<arch or timm id>.(safetensors|pth|pt|bin)` or a folder of that name; None when absent."""
    if not weights_dir:
        return None
    spec = spec_of(arch)
    for stem in (arch, spec.model_id):
        for ext in ("safetensors", "pth", "pt", "bin"):
            if (Path(weights_dir) / f"{stem}.{ext}").is_file():
                return Path(weights_dir) / f"{stem}.{ext}"
        if (Path(weights_dir) / stem).is_dir():
            return Path(weights_dir) / stem
    return None


def _weights_file(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        found = sorted(p for ext in ("safetensors", "pth", "pt", "bin") for p in path.glob(f"*.{ext}"))
        if not found:
            raise ValueError(f"{path}: no weights file (.safetensors, .pth, .pt, .bin) in this folder")
        path = found[0]
    if not path.is_file():
        raise ValueError(f"{path}: pretrained weights file not found")
    return path


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no code is unpickled
    return state.get("state_dict", state) if isinstance(state, dict) else state


def _torchvision_model(spec: ArchSpec, num_classes: int, weights: Path | None, in_chans: int = 1) -> torch.nn.Module:
    import torchvision
    from timm.models import adapt_input_conv

    builder = getattr(torchvision.models, spec.model_id)
    model = builder(weights=None, num_classes=1000 if weights is not None else num_classes)
    if weights is not None:
        model.load_state_dict(_read_state_dict(weights))
    first = model.features[0]
    conv = torch.nn.Conv2d(in_chans, first.out_channels, first.kernel_size, first.stride, first.padding)
    with torch.no_grad():
        conv.weight.copy_(adapt_input_conv(in_chans, first.weight))
        conv.bias.copy_(first.bias)
    model.features[0] = conv
    if weights is not None:  # a fresh head for our classes
        if spec.model_id.startswith("squeezenet"):
            old = model.classifier[1]
            model.classifier[1] = torch.nn.Conv2d(old.in_channels, num_classes, kernel_size=1)
            model.num_classes = num_classes
        else:
            old = model.classifier[-1]
            model.classifier[-1] = torch.nn.Linear(old.in_features, num_classes)
    return model


def save_classifier(model: torch.nn.Module, config: ClassifierConfig, folder: str | Path) -> Path:
    """`model.safetensors` + `config.json` in `folder` (the layout `load_classifier` reads)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(asdict(config), indent=1))
    return folder


def load_classifier(folder: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, ClassifierConfig]:
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise ValueError(f"{folder}: not a saved classifier (config.json missing)")
    config = ClassifierConfig(**json.loads((folder / "config.json").read_text()))
    state = load_file(folder / "model.safetensors")
    centre = state.get("ref_centre", state.get("physics.ref_centre"))  # physics and hybrid models
    model = create_classifier(
        config.arch,
        len(config.classes),
        input_size=config.input_size,
        in_chans=config.channels,
        encoder=config.encoder,
        n_features=int(centre.shape[1]) if centre is not None else None,
    )
    model.load_state_dict(state)
    return model.to(device).eval(), config
