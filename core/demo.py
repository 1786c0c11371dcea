"""Build the demo workspace: simulated experimental frames and candidate frames, half of them hallucinated.

The candidates stand in for generator output (source `generated`, backend `simulator`) until a diffusion
model has been trained; their truth (artifact type) is stored for benchmarks and never shown as a label.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ingest import import_paths
from .jobs import ProgressFn, StopFn, never_stop, no_progress
from .simulate import PATTERNS, simulate_dataset
from .workspace import Workspace


@dataclass
class DemoResult:
    experimental: int
    candidates: int
    hallucinated: int


def build_demo(
    ws: Workspace,
    *,
    run_id: int,
    n_per_pattern: int = 100,
    candidates_per_pattern: int = 100,
    size: int = 256,
    seed: int = 0,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> DemoResult:
    """Simulate and import; `progress` counts frames over both phases."""
    total = len(PATTERNS) * (n_per_pattern + candidates_per_pattern) * 2
    done = [0]

    def step(d: int, _t: int, message: str) -> None:
        done[0] += d > 0  # one per frame made or file imported; an import's opening report (0 of n) counts none
        progress(min(done[0], total), total, message)

    sim_root = ws.run_dir(run_id) / "simulated"
    round_no = ws.store.current_round()
    for p_i, pattern in enumerate(PATTERNS):
        exp_dir, cand_dir = sim_root / "experimental" / pattern, sim_root / "candidates" / pattern
        simulate_dataset(
            pattern,
            n_per_pattern,
            exp_dir,
            seed=seed + p_i,
            size=size,
            artifacts="none",
            progress=step,
            should_stop=should_stop,
        )
        simulate_dataset(
            pattern,
            candidates_per_pattern,
            cand_dir,
            seed=seed + 100 + p_i,
            size=size,
            artifacts="0.5",
            progress=step,
            should_stop=should_stop,
        )
    exp = import_paths(
        ws, [sim_root / "experimental"], source="experimental", run_id=run_id, progress=step, should_stop=should_stop
    )
    cand = import_paths(
        ws,
        [sim_root / "candidates"],
        source="generated",
        run_id=run_id,
        round=round_no,
        provenance={"backend": "simulator"},
        progress=step,
        should_stop=should_stop,
    )
    hallucinated = sum(1 for img in ws.store.get_images(cand.image_ids) if img.truth and img.truth.get("artifact"))
    failed = exp.failed + cand.failed  # the run's last line sums both imports (the second's alone read as all)
    progress(total, total, f"{exp.imported} experimental + {cand.imported} candidates imported, {failed} failed")
    return DemoResult(experimental=exp.imported, candidates=cand.imported, hallucinated=hallucinated)
