"""Classifiers in rounds: the registry, the training loop, hybrid sets, voting, prediction and review."""

from .data import TASKS, Split, assemble
from .predict import PredictResult, candidates, predict_candidates, prelabel, review_queue
from .registry import PAPER_MODELS, REGISTRY, create_classifier, load_classifier, save_classifier
from .rounds import RoundParams, RoundResult, train_round
from .train import fit, predict_proba
from .voting import cross_fitted_weighted, decide, fit_weights, hard_vote, scores, soft_vote

__all__ = [
    "PAPER_MODELS",
    "REGISTRY",
    "TASKS",
    "PredictResult",
    "RoundParams",
    "RoundResult",
    "Split",
    "assemble",
    "candidates",
    "create_classifier",
    "cross_fitted_weighted",
    "decide",
    "fit",
    "fit_weights",
    "hard_vote",
    "load_classifier",
    "predict_candidates",
    "predict_proba",
    "prelabel",
    "review_queue",
    "save_classifier",
    "scores",
    "soft_vote",
    "train_round",
]
