"""Candidates with a person's labels, for tests that need a trained round: simulated ring frames imported as
round-1 candidates and labelled by their recorded truth."""

from __future__ import annotations

from pathlib import Path

import pytest


def add_candidates_labelled_by_truth(ws, folder: Path, n: int, seed: int) -> None:
    """Import `n` simulated 64-px ring candidates (half with artifacts) and label each by its truth; skips the
    test when the seed happens to give one class only."""
    from scatterloop.core.ingest import import_paths
    from scatterloop.core.simulate import simulate_dataset

    simulate_dataset("rings", n, folder, seed=seed, size=64, artifacts="0.5")
    import_paths(ws, [folder], source="generated", round=1)
    for img, _ in ws.store.list_images():
        if img.source == "generated" and img.truth is not None:
            ws.store.add_labels([img.id], "realistic" if img.truth.get("realistic") else "fake", "oracle")
    if {s.label for s in ws.store.current_labels().values()} != {"realistic", "fake"}:
        pytest.skip("seeded candidates happen to hold one class only")
