"""The physics forest: extremely randomised trees on the physics model's standardised departures.

The linear physics model (`featmodel`) adds up evidence; it cannot say "this departure matters only when that
one is small", and one departure that is common among realistic frames of one kind (a lattice of peaks is as
periodic as a hallucinated checkerboard) dilutes the weight it gives the same departure elsewhere. A forest of
extremely randomised trees (scikit-learn's `ExtraTreesClassifier`, Geurts et al. 2006) on the same inputs (the
robust z-scores against the workspace's experimental frames, their magnitudes and the pattern) cuts where the
labels say, trains in about a second on hundreds of labels, and votes beside the linear model: `bench loop`
measured the pair above either alone (see `recipes.OURS`).

scikit-learn fits the trees; their nodes are then kept as tensors in the module, so a trained forest is saved
as safetensors like every other model (no pickle is ever loaded) and predicts with a few gathers per level.
"""

from __future__ import annotations

import numpy as np
import torch

from .featmodel import GROUPS, FeatureClassifier, fit_features, standardise

NODE_BUFFERS = ("node_feature", "node_threshold", "node_left", "node_right", "node_value", "depth")
FLOOR = 1e-3  # leaf probabilities are kept off 0 and 1 so that log-probabilities stay finite for calibration


class FeatureForest(FeatureClassifier):
    """Input as `FeatureClassifier` (features, then the pattern group); output log-probabilities averaged over
    trees (used as logits: softmax gives the forest's probabilities back, and a temperature calibrates them)."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.num_classes = num_classes
        self.register_buffer("node_feature", torch.zeros(1, 1, dtype=torch.long))
        self.register_buffer("node_threshold", torch.zeros(1, 1, dtype=torch.float64))
        self.register_buffer("node_left", torch.full((1, 1), -1, dtype=torch.long))
        self.register_buffer("node_right", torch.full((1, 1), -1, dtype=torch.long))
        self.register_buffer("node_value", torch.full((1, 1, num_classes), 1.0 / num_classes))
        self.register_buffer("depth", torch.zeros((), dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in NODE_BUFFERS:  # a saved forest has its own number of trees and nodes
            if prefix + name in state_dict:
                self._buffers[name] = torch.empty_like(state_dict[prefix + name])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        phi, group = self.phi(x)
        return torch.cat([phi, torch.nn.functional.one_hot(group, len(GROUPS)).to(phi.dtype)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.inputs(x).t().double()  # (D, N); thresholds are scikit-learn's doubles
        n_trees, n = self.node_feature.shape[0], z.shape[1]
        node = torch.zeros(n_trees, n, dtype=torch.long, device=z.device)
        cols = torch.arange(n, device=z.device)
        for _ in range(int(self.depth)):
            left = self.node_left.gather(1, node)
            go_left = z[self.node_feature.gather(1, node), cols] <= self.node_threshold.gather(1, node)
            node = torch.where(left < 0, node, torch.where(go_left, left, self.node_right.gather(1, node)))
        trees = torch.arange(n_trees, device=z.device)[:, None]
        prob = self.node_value[trees, node].mean(0)  # (N, K)
        return prob.clamp_min(FLOOR).log().float()


def fit_forest(
    model: FeatureForest,
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_trees: int = 300,
    min_samples_leaf: int = 2,
    balance: bool = True,
    seed: int = 0,
) -> dict:
    """Fit the trees with scikit-learn on the model's inputs (its reference must be set) and keep their nodes.
    Returns the training log-loss and accuracy, as `featmodel.fit_features` does."""
    from sklearn.ensemble import ExtraTreesClassifier

    xt = torch.as_tensor(np.asarray(x, np.float32))
    y = np.asarray(y, np.int64)
    standardise(model, xt)  # the forest reads raw departures; the map's "classifier features" read these
    with torch.no_grad():
        z = model.inputs(xt).numpy()
    forest = ExtraTreesClassifier(
        n_estimators=n_trees,
        min_samples_leaf=min_samples_leaf,
        class_weight="balanced" if balance else None,
        random_state=seed,
        n_jobs=1,
    ).fit(z, y)
    k = model.num_classes
    trees = [e.tree_ for e in forest.estimators_]
    m = max(t.node_count for t in trees)
    feature = np.zeros((len(trees), m), np.int64)
    threshold = np.zeros((len(trees), m), np.float64)
    left = np.full((len(trees), m), -1, np.int64)
    right = np.full((len(trees), m), -1, np.int64)
    value = np.full((len(trees), m, k), 1.0 / k, np.float32)
    for i, t in enumerate(trees):
        c = t.node_count
        feature[i, :c] = np.maximum(t.feature, 0)  # leaves hold -2; never read
        threshold[i, :c] = t.threshold
        left[i, :c], right[i, :c] = t.children_left, t.children_right
        v = t.value[:, 0, :]
        v = v / np.maximum(v.sum(1, keepdims=True), 1e-12)
        value[i, :c] = 0.0
        value[i, :c][:, forest.classes_] = v  # a class absent from these labels keeps probability 0
    with torch.no_grad():
        for name, arr in zip(NODE_BUFFERS, (feature, threshold, left, right, value), strict=False):
            model._buffers[name] = torch.as_tensor(arr)
        model._buffers["depth"] = torch.tensor(max(t.max_depth for t in trees), dtype=torch.long)
        logp = model(xt)
    loss = float(torch.nn.functional.nll_loss(logp, torch.as_tensor(y)))
    acc = float((logp.argmax(1).numpy() == y).mean())
    return {"loss": loss, "train_acc": acc}


def fit_physics(model: FeatureClassifier, x: np.ndarray, y: np.ndarray, *, seed: int = 0) -> dict:
    """Fit a physics model of either kind (`FeatureClassifier` or `FeatureForest`) on features `x`."""
    if isinstance(model, FeatureForest):
        return fit_forest(model, x, y, seed=seed)
    return fit_features(model, x, y)
