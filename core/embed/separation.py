"""How well a map separates what people care about: k-NN accuracy in the 2-D map coordinates.

A map is useful for labelling when neighbours on screen share a verdict. Leave-one-out k-nearest-neighbour
accuracy (k = 5) of the human label (realistic / fake, over labelled generated images) and of the pattern
(over images that have one) measures exactly that, on the coordinates people look at rather than the
features before projection. It is cheap, so it is recomputed from the current labels whenever a map is
built or reused; `label_chance` (the larger class's share) is the figure a map without structure reaches.
"""

from __future__ import annotations

import numpy as np

K = 5
REALISM = ("realistic", "fake")


def knn_accuracy(xy: np.ndarray, labels, k: int = K) -> float | None:
    """Leave-one-out accuracy of a majority vote of each point's k nearest other points; ties go to the class
    of the nearest tied neighbour. None when fewer than k + 1 points or a single class."""
    from sklearn.neighbors import NearestNeighbors

    xy = np.asarray(xy, float)
    labels = np.asarray(labels)
    if len(labels) < k + 1 or len(set(labels.tolist())) < 2:
        return None
    _, codes = np.unique(labels, return_inverse=True)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    right = 0
    for i, row in enumerate(idx):
        others = [j for j in row if j != i][:k]  # duplicates may put another point before the point itself
        votes = codes[others]
        counts = np.bincount(votes)
        best = np.flatnonzero(counts == counts.max())
        winner = next(v for v in votes if v in best)
        right += int(winner == codes[i])
    return round(right / len(labels), 4)


def _chance(labels: list) -> float | None:
    if not labels:
        return None
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return round(float(counts.max() / counts.sum()), 4)


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

    def score(pairs):
        return knn_accuracy(xy[[p for p, _ in pairs]], [v for _, v in pairs], k) if pairs else None

    return {
        "k": k,
        "label_knn": score(lab),
        "label_n": len(lab),
        "label_chance": _chance([v for _, v in lab]),
        "pattern_knn": score(pat),
        "pattern_n": len(pat),
        "pattern_chance": _chance([v for _, v in pat]),
    }
