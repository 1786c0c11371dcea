"""Named training recipes: ours (chosen by `scatterloop bench loop`) and the paper's, kept for comparison.

A recipe is every training choice that is not the data: which models, input size and channels, optimiser,
learning rate and schedule, epochs and early stopping, augmentations, class balance, calibration. A round's
parameters name a recipe and may override single fields (`RoundParams`); the run records what was used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from .voting import check_positive_cost


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
    final_fit: bool = False  # physics models refit on training + validation labels once scored, doubted ones left out
    encoder: bool = False  # networks from scratch start from the workspace's latest pretrained encoder, if any
    # A false call of the task's positive class ("realistic") costs this many missed ones; every decision of the
    # round's models and votes minimises the expected cost on calibrated probabilities (`voting.decide`), so
    # with two classes the positive class is called above c / (1 + c). 1: the arg-max.
    positive_cost: float = 1.0

    def __post_init__(self) -> None:
        check_positive_cost(self.positive_cost)  # every recipe, named or overridden, can price its decisions

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

# Ours: the physics models, linear and a forest of randomised trees on the same departures (each trained in about
# a second, useful from the first labels, calibrated; `bench loop` replica on the same features, seed 0, soft
# vote at 30/60/300 labels: linear alone 0.863/0.843/0.930, with the forest 0.873/0.880/0.953). Networks added with
# `models` (or the `gpu` recipe) train from scratch at 128 px with mask and high-pass channels, long enough to
# converge, and are stopped at their best validation loss. On a 2-core CPU a ResNet-18 beside the physics
# model made the soft vote worse (0.80 against the physics model's 0.86 at 150 labels, `bench loop --quick`):
# an uninformed, calibrated member pulls every vote towards 0.5 and nothing reached the pre-label threshold.
# `encoder` (off in every recipe; `classify train --encoder`): networks trained from scratch start from the
# workspace's latest self-supervised encoder of their architecture and channels (`classify pretrain`). Off by
# default because `bench pretrain` (64 px, CPU) found no consistent gain: ResNet-18 alone 0.54 → 0.63 and
# 0.52 → 0.47 (seeds 0, 1; 150 labels), and at 60 labels the encoder-started network pulled the soft vote with
# the physics model from 0.78 to 0.62.
# `positive_cost` stays 1 (the arg-max). Pricing a false "realistic" call at three missed ones (`--positive-cost 3`:
# realistic above 0.75) is the precision-first setting: on `bench loop` seeds 0 / 1 / 2 / 3 it raised soft-vote
# precision at 300 labels from 0.948 / 0.974 / 0.962 / 0.922 to 0.954 / 0.974 / 0.993 / 0.957 (accuracy 0.963 / 0.960 /
# 0.970 / 0.947 → 0.960 / 0.957 / 0.933 / 0.943). It is not the default because a fixed threshold needs probabilities
# calibrated for the candidates, and labels chosen by the uncertain queue are not a sample of them: models trained on
# them called fewer realistic frames above 0.75 (seed 3: recall 0.81-0.92 against 0.92-0.97 at 0.5), and the queue's
# labels never reached random order's 300-label accuracy on seed 1 (0.90 at most against 0.957) and needed 270 on seed
# 0, where at the arg-max they need 150 and 120. A queue that gives every fourth card to a candidate drawn at random
# (so calibration sees a sample of them) did not mend it: at C = 3 seed 0 still needed 270 and seed 1 never got there
# (0.93 at most, recall at 0.75 down to 0.68); at the arg-max it moved seeds 0 / 1 / 3 from 120 / 150 / 120 to 90 / 180
# / 120, no consistent gain, so the queue stays uncertainty-first.
OURS = Recipe(
    name="ours",
    models=("physics", "physics_forest"),
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
    final_fit=True,
)

# For GPU servers: the same training with a network beside the physics model (local ImageNet weights, when
# given, are folded into the three input channels).
GPU = replace(OURS, name="gpu", models=("physics", "physics_forest", "resnet18"))

# The pattern task (rings / peaks / background): a small ResNet (timm's `test_resnet`, 0.37 M weights, registry
# name `tiny`) on the classifier inputs at 96 px, trained to convergence. The physics features judge realism and
# hold no measure of Bragg spots: trained on 300 wide-domain simulated frames per class, they called 50 of 64
# peak frames of pyFAI's detector models background (0.67 of 192 frames right, linear; 0.64, forest), where
# this network gave 0.958 / 0.948 on seeds 0 / 1 (`bench simreal --manifest` on `scripts/pyfai_manifest.py
# --per-kind 4 --seed 2027`; seed 0 after 10 / 25 / 40 epochs: 0.875 / 0.932 / 0.958, its simulated validation
# accuracy 0.86 / 0.89 / 0.90 at best epoch 9 / 23 / 37, so it had not converged before). About 10 s an epoch
# per 1,000 frames on 2 cores.
PATTERN = replace(OURS, name="pattern", models=("tiny",), input_size=96, epochs=40, final_fit=False, positive_cost=1.0)

RECIPES = {r.name: r for r in (OURS, GPU, PAPER, PATTERN)}


def default_recipe(task: str | None) -> str:
    """The recipe a round of `task` follows when none is named: `pattern` for the pattern task, else `ours`."""
    return PATTERN.name if task == "pattern" else OURS.name


def recipe(name: str, **overrides) -> Recipe:
    """A named recipe with some fields replaced (None values are ignored)."""
    if name not in RECIPES:
        raise ValueError(f"recipe: expected one of {sorted(RECIPES)}, got {name!r}")
    return replace(RECIPES[name], **{k: v for k, v in overrides.items() if v is not None})
