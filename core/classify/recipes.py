"""Named training recipes: ours (chosen by `scatterloop bench loop`) and the paper's, kept for comparison.

A recipe is every training choice that is not the data: which models, input size and channels, optimiser,
learning rate and schedule, epochs and early stopping, augmentations, class balance, calibration. A round's
parameters name a recipe and may override single fields (`RoundParams`); the run records what was used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Recipe:
    name: str
    models: tuple[str, ...]
    input_size: int | None  # None: each architecture's published size
    channels: int  # 1 image; 2 + mask; 3 + high-pass
    epochs: int
    lr: float
    weight_decay: float
    schedule: str  # "constant" or "cosine" (one cycle)
    patience: int | None  # early stopping on validation loss, best epoch restored; None: train all epochs
    augment: str  # "flip" or "physics" (flip, shift, exposure; mask moves with the image)
    balance: bool  # class-balanced loss
    calibrate: bool  # temperature scaling on validation
    label_smoothing: float = 0.0
    batch_size: int = 32

    def to_json(self) -> dict:
        return {**asdict(self), "models": list(self.models)}


# The paper's fine-tuning recipe as the first version shipped it: Adam 1e-4, 5 epochs, 64 px grayscale.
PAPER = Recipe(
    name="paper",
    models=("resnet18",),
    input_size=64,
    channels=1,
    epochs=5,
    lr=1e-4,
    weight_decay=0.0,
    schedule="constant",
    patience=None,
    augment="flip",
    balance=False,
    calibrate=False,
)

# Ours: the physics model (seconds, useful from the first labels) beside a network from scratch at 128 px
# with mask and high-pass channels, trained long enough to converge and stopped at its best validation loss.
OURS = Recipe(
    name="ours",
    models=("physics", "resnet18"),
    input_size=128,
    channels=3,
    epochs=30,
    lr=2e-3,
    weight_decay=0.05,
    schedule="cosine",
    patience=8,
    augment="physics",
    balance=True,
    calibrate=True,
    label_smoothing=0.05,
)

RECIPES = {r.name: r for r in (OURS, PAPER)}


def recipe(name: str, **overrides) -> Recipe:
    """A named recipe with some fields replaced (None values are ignored)."""
    if name not in RECIPES:
        raise ValueError(f"recipe: expected one of {sorted(RECIPES)}, got {name!r}")
    return replace(RECIPES[name], **{k: v for k, v in overrides.items() if v is not None})
