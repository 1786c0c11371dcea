"""The demo workspace job: what its run says at the end."""

from __future__ import annotations

from scatterloop.core.config import Settings
from scatterloop.core.demo import build_demo
from scatterloop.core.workspace import Workspace


def test_the_demo_run_ends_saying_what_both_imports_brought(tmp_path):
    """Before, its last line was the second import's alone ("60 imported") after 120 frames came in."""
    ws = Workspace.open(Settings(workspace=tmp_path / "ws"))
    said = []
    try:
        res = build_demo(
            ws, run_id=ws.store.create_run("demo", {}), n_per_pattern=2, candidates_per_pattern=1, size=64,
            progress=lambda d, t, m: said.append((d, t, m)),
        )  # fmt: skip
        assert (res.experimental, res.candidates) == (6, 3)
        assert said[-1] == (said[-1][1], said[-1][1], "6 experimental + 3 candidates imported, 0 failed")
        # the count never runs past its total (the imports' opening reports counted: 120/120, then 121, 122)
        counts = [d for d, _, _ in said]
        assert counts == sorted(counts) and max(counts) == said[-1][1] and counts.count(said[-1][1]) == 2
    finally:
        ws.store.dispose()
