"""Realism in numbers and pictures: FID/KID/IS per pattern, SSIM, polar symmetry, and a standalone report."""

from .evaluate import EvalParams, EvalResult, check_can_evaluate, evaluate, nothing_to_evaluate
from .metrics import fid, frechet_distance, inception_score, kid, statistics
from .report import write_report

__all__ = [
    "EvalParams",
    "EvalResult",
    "check_can_evaluate",
    "evaluate",
    "fid",
    "frechet_distance",
    "inception_score",
    "kid",
    "nothing_to_evaluate",
    "statistics",
    "write_report",
]
