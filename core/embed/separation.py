"""How well a map separates what people care about: k-NN accuracy in the 2-D map coordinates.

A map is useful for labelling when neighbours on screen share a verdict. Leave-one-out k-nearest-neighbour
accuracy (k = 5) of the human label (realistic / fake, over labelled generated images) and of the pattern
(over images that have one) measures exactly that, on the coordinates people look at rather than the
features before projection. It is cheap, so it is recomputed from the current labels whenever a map is
built or reused; `label_chance` is what a map without structure reaches with the same class sizes (the mean over
the labels shuffled on the same points; `label_chance_95` its 95th percentile): the larger class's share is that
figure only for many points.
"""

from __future__ import annotations

import numpy as np

K = 5
REALISM = ("realistic", "fake")


def _others(xy: np.ndarray, k: int) -> np.ndarray:
    """Each point's k nearest other points (n x k indices, nearest first)."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    # duplicates may put another point before the point itself
    return np.array([[j for j in row if j != i][:k] for i, row in enumerate(idx)], dtype=int)


def _loo(others: np.ndarray, codes: np.ndarray) -> float:
    """Share of points whose neighbours' majority is their own class; a tie goes to the nearest tied neighbour."""
    votes = codes[others]  # n x k
    counts = np.zeros((len(codes), int(codes.max()) + 1), dtype=int)
    np.add.at(counts, (np.repeat(np.arange(len(codes)), others.shape[1]), votes.ravel()), 1)
    tied = counts[np.arange(len(codes))[:, None], votes] == counts.max(1, keepdims=True)
    winner = votes[np.arange(len(codes)), tied.argmax(1)]
    return float((winner == codes).mean())


def knn_accuracy(xy: np.ndarray, labels, k: int = K) -> float | None:
    """Leave-one-out accuracy of a majority vote of each point's k nearest other points; ties go to the class
    of the nearest tied neighbour. None when fewer than k + 1 points or a single class."""
    labels = np.asarray(labels)
    if len(labels) < k + 1 or len(set(labels.tolist())) < 2:
        return None
    _, codes = np.unique(labels, return_inverse=True)
    return round(_loo(_others(np.asarray(xy, float), k), codes), 4)


def null_accuracy(xy: np.ndarray, labels, k: int = K, seed: int = 0) -> tuple[float, float] | None:
    """(mean, 95th percentile) of the same accuracy with the labels shuffled over the same points: what a map
    without structure reaches with these class sizes. Not the larger class's share: with few points a class's
    own member is missing from its neighbours, so 3 + 3 points score 0 whatever the map."""
    labels = np.asarray(labels)
    if len(labels) < k + 1 or len(set(labels.tolist())) < 2:
        return None
    _, codes = np.unique(labels, return_inverse=True)
    others = _others(np.asarray(xy, float), k)
    rng = np.random.default_rng(seed)
    runs = np.array([_loo(others, rng.permutation(codes)) for _ in range(200 if len(codes) <= 5000 else 20)])
    return round(float(runs.mean()), 4), round(float(np.quantile(runs, 0.95)), 4)


def separation(ws, ids, xy, k: int = K) -> dict:
    """The map's separation figure for the current labels: label and pattern k-NN accuracy, counts, chance."""
    ids = [int(i) for i in ids]
    pos = {i: n for n, i in enumerate(ids)}
    facts = ws.store.image_facts()  # id -> (source, pattern, round)
    labels = ws.store.current_labels()
    lab = [
        (pos[i], s.label)
        for i, s in labels.items()
        if i in pos and s.label in REALISM and facts[i][0] != "experimental"
    ]
    pat = [(pos[i], facts[i][1]) for i in ids if facts.get(i, (None, None))[1]]
    xy = np.asarray(xy, float)

    out: dict = {"k": k}
    for key, pairs in (("label", lab), ("pattern", pat)):
        at, values = xy[[p for p, _ in pairs]], [v for _, v in pairs]
        null = null_accuracy(at, values, k) if pairs else None
        out.update({
            f"{key}_knn": knn_accuracy(at, values, k) if pairs else None,
            f"{key}_n": len(pairs),
            f"{key}_chance": null[0] if null else None,
            f"{key}_chance_95": null[1] if null else None,
        })  # fmt: skip
    return out
