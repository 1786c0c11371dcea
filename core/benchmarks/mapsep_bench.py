"""`scatterloop bench mapsep`: how well each map separates realistic from fake candidates, and patterns.

The paper's Fig. 8 shows realistic and fake candidates apart in a classifier's feature space. This bench
measures that claim for every map source on data with known truth: a simulated workspace (candidates of which
half are hallucinated, plus experimental frames), every candidate labelled by its truth, one map per source,
and the map's separation figure (leave-one-out 5-NN accuracy in the 2-D map, `embed.separation`). The
classifier source is a physics-model round ("ours" recipe) trained on those same labels, so its label figure
is partly in-sample (its validation fifth is not) and reads as an upper bound.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from . import job, stage, step
from .io_bench import machine
from .loop_bench import _truth, _workspace


def bench_mapsep(n: int = 150, size: int = 128, seed: int = 0, epochs: int = 8, quick: bool = False) -> dict:
    """Separation figures of the autoencoder, physics and classifier-round maps of one simulated workspace."""
    from ..classify import RoundParams, train_round
    from ..cli_common import RunCancelled
    from ..embed import MapParams
    from ..embed.jobs import run_build

    if quick:
        n, size, epochs = min(n, 60), min(size, 64), min(epochs, 3)
    n_exp = max(30, n // 3)
    out: dict = {"bench": "mapsep", "machine": machine(), "candidates": n, "experimental": n_exp, "size": size}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        step(0, 1, "simulating candidates")
        ws = _workspace(Path(tmp), n, n_exp, size, seed)
        cands = [img for img, _ in ws.store.list_images() if img.source == "generated"]
        for verdict, truth in (("realistic", 1), ("fake", 0)):
            ids = [img.id for img in cands if _truth(img) == truth]
            if ids:
                ws.store.add_labels(ids, verdict, "oracle")
        out["candidates"], out["realistic"] = len(cands), sum(_truth(img) for img in cands)
        out["experimental"] = ws.store.count_images() - len(cands)
        sources = ["autoencoder", "physics"]
        t0 = time.perf_counter()
        run_id, _ = job(
            ws.store,
            "classify",
            lambda run_id, progress, should_stop: train_round(
                ws, RoundParams(recipe="ours", seed=seed), run_id=run_id, progress=progress, should_stop=should_stop
            ),
            "classifier round",
        )
        out["classifier_round_s"] = round(time.perf_counter() - t0, 1)
        sources.append(f"classifier:{run_id}")
        for source in sources:
            t0 = time.perf_counter()
            params = MapParams(epochs=epochs, seed=seed, features=source)
            map_run, res = run_build(ws, params, progress=stage(f"map from {source}"))
            if res is None:  # the command was signalled: stopped at the map's next check
                raise RunCancelled(map_run)
            name = "classifier" if source.startswith("classifier") else source
            out[name] = {**res.separation, "seconds": round(time.perf_counter() - t0, 1)}
        out["classifier"]["source"] = sources[-1]
        ws.store.dispose()
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    return out
