"""Distribution metrics between feature sets: Fréchet distance, kernel inception distance, Inception Score.

The Fréchet distance is computed in float64 through symmetric eigendecompositions: with A = Σ₁^½ (from
`eigh`, negative round-off eigenvalues clipped), tr((Σ₁Σ₂)^½) = Σ √λ(A Σ₂ A), the eigenvalues of a symmetric
positive semi-definite matrix. Unlike a general matrix square root (`scipy.linalg.sqrtm`, Schur form) it
never returns complex parts from round-off and needs two `eigh` calls instead of a Schur decomposition.
KID is the unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³ over random subsets, as in
Bińkowski et al. and torchmetrics. IS is exp(E_x KL(p(y|x) ‖ p(y))) over splits.
"""

from __future__ import annotations

import numpy as np

FID_IMPLEMENTATION = "scatterloop eigh float64 (tr sqrt(A S2 A), A = sqrt S1)"


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features: need at least 2 rows of a 2-D array, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½, in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    a = _sqrt_psd(s1)
    m = a @ s2 @ a
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*statistics(real), *statistics(fake))


def frechet_distance_scipy(mu1, s1, mu2, s2) -> float:
    """The usual formulation with `scipy.linalg.sqrtm` (pytorch-fid's), kept as the benchmark's baseline."""
    from scipy import linalg

    covmean = linalg.sqrtm(s1.dot(s2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _mmd2_poly(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def kid(
    real: np.ndarray, fake: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float, int]:
    """KID mean and std over `subsets` random subsets of size min(subset_size, n_real, n_fake)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 images on each side")
    rng = np.random.default_rng(seed)
    vals = [
        _mmd2_poly(real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(vals)), float(np.std(vals)), size


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """IS mean and std over `splits` (rows of `probs` are class distributions p(y|x))."""
    probs = np.asarray(probs, np.float64)
    splits = max(1, min(splits, len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        py = part.mean(0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(py + 1e-12))).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
