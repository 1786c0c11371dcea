"""Diffusion backends. The domain model (trained from scratch on the workspace) is the embedded default."""

from .presets import PRESETS, DomainPreset
from .sample import GenerateResult, generate_candidates, load_generator, sample_batch
from .train import TrainResult, train_domain_model


def latest_generator(store, how_to_train: str) -> str:
    """The checkpoint of the workspace's latest trained generator; ValueError saying `how_to_train` without one."""
    arts = store.list_artifacts(kind="generator")
    if not arts:
        raise ValueError(f"no trained generator in this workspace: {how_to_train} first")
    return arts[-1].path


__all__ = [
    "latest_generator",
    "PRESETS",
    "DomainPreset",
    "GenerateResult",
    "generate_candidates",
    "load_generator",
    "sample_batch",
    "TrainResult",
    "train_domain_model",
]
