"""Temperature scaling (Guo et al. 2017): one scalar that makes a model's confidence mean what it says.

A network trained to low training loss is over-confident; dividing its logits by a temperature T fitted to
minimise the negative log-likelihood on held-out labels keeps its decisions (the arg-max does not move) and
makes "0.9" mean about 90 % correct, which pre-labelling and review queues rely on.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def fit_temperature(logits: np.ndarray, y: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Temperature minimising the validation NLL of softmax(logits / T); 1.0 when there is nothing to fit."""
    if len(y) < 2 or len(np.unique(y)) < 2:
        return 1.0
    z = torch.as_tensor(np.asarray(logits, np.float64))
    t = torch.as_tensor(np.asarray(y, np.int64))
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
