"""Temperature scaling (Guo et al. 2017): one scalar that makes a model's confidence mean what it says.

A network trained to low training loss is over-confident; dividing its logits by a temperature T fitted to
minimise the negative log-likelihood on held-out labels keeps its decisions (the arg-max does not move) and
makes "0.9" mean about 90 % correct, which pre-labelling and review queues rely on.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def platt_targets(y: np.ndarray, k: int) -> np.ndarray:
    """Soft targets for fitting a calibration on few labels (Platt 1999): a label of a class seen n times in
    the set counts as (n + 1) / (n + 2) sure, the rest spread over the other classes. On a small set that a
    model happens to separate, hard targets drive the temperature to zero and every later probability to 0
    or 1; these keep "0.9" honest, and on hundreds of labels they are all but hard."""
    y = np.asarray(y, np.int64)
    n = np.bincount(y, minlength=k).astype(np.float64)
    sure = (n[y] + 1) / (n[y] + 2)
    t = np.tile(((1 - sure) / max(1, k - 1))[:, None], (1, k))
    t[np.arange(len(y)), y] = sure
    return t


def fit_temperature(logits: np.ndarray, y: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Temperature minimising the validation NLL of softmax(logits / T) against Platt's soft targets
    (`platt_targets`); 1.0 when there is nothing to fit."""
    if len(y) < 2 or len(np.unique(y)) < 2:
        return 1.0
    z = torch.as_tensor(np.asarray(logits, np.float64))
    t = torch.as_tensor(platt_targets(y, z.shape[1]))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), t)
        loss.backward()
        return loss

    opt.step(closure)
    temp = float(log_t.detach().exp())
    return float(np.clip(temp, *bounds)) if np.isfinite(temp) else 1.0


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes."""
    z = torch.as_tensor(np.asarray(logits, np.float64)) / temperature
    return float(F.cross_entropy(z, torch.as_tensor(np.asarray(y, np.int64))))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)
