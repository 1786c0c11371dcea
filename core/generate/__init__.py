"""Diffusion backends. The domain model (trained from scratch on the workspace) is the embedded default."""

from .presets import PRESETS, DomainPreset
from .sample import GenerateResult, generate_candidates, load_generator, sample_batch
from .train import TrainResult, train_domain_model

__all__ = [
    "PRESETS",
    "DomainPreset",
    "GenerateResult",
    "generate_candidates",
    "load_generator",
    "sample_batch",
    "TrainResult",
    "train_domain_model",
]
