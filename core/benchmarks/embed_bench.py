"""Latent-map speed: first map of 10k latents in a fresh process against plain UMAP, placement of new images,
and the Explore view's server work at 100k points."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .io_bench import machine


def synthetic_latents(n: int, dim: int = 16, clusters: int = 12, seed: int = 0) -> np.ndarray:
    """Clustered latents standing in for an autoencoder's (patterns x geometries), seeded."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(clusters, dim))
    which = rng.integers(0, clusters, n)
    return (centres[which] + rng.normal(size=(n, dim))).astype(np.float32)


def _fresh(code: str, latents: Path) -> dict:
    """Run `code` in a new interpreter (imports and JIT included) and return its JSON line plus wall time."""
    prog = f"import json, time, numpy as np\nt0 = time.perf_counter()\nX = np.load({str(latents)!r})\n" + code
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 3)
    return result


def bench_embed(n: int = 10_000, size: int = 64, seed: int = 0) -> dict:
    """First 2-D map of n latents, each way in a fresh process, and placing 1,000 new images into that map."""
    from ..embed.autoencoder import AEConfig, ConvAutoencoder, encode
    from ..embed.projection import fit_projection, place

    lat = synthetic_latents(n, seed=seed)
    out: dict = {
        "bench": "embed",
        "n": n,
        "latent_dim": int(lat.shape[1]),
        "machine": machine(),
        "latents": "synthetic: 12 Gaussian clusters in 16-d (seeded)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "latents.npy"
        np.save(path, lat)
        out["baseline_umap"] = _fresh(
            "import umap\nY = umap.UMAP().fit_transform(X)\nt1 = time.perf_counter()\n"
            "Y = umap.UMAP().fit_transform(X)\nt2 = time.perf_counter()\n"
            "print(json.dumps({'cold_s': round(t1 - t0, 3), 'warm_s': round(t2 - t1, 3)}))",
            path,
        )
        out["ours_first_map_pca"] = _fresh(
            "from scatterloop.core.embed.projection import fit_projection\nY = fit_projection(X, 'pca', 2)\n"
            "print(json.dumps({'cold_s': round(time.perf_counter() - t0, 3)}))",
            path,
        )
        out["ours_umap_forked_from_warm_server"] = _fresh(
            "from scatterloop.core.embed.projection import fit_projection, warm_up\nwarm = warm_up()\n"
            "t1 = time.perf_counter()\nY = fit_projection(X, 'umap', 2, seed=None)\n"
            "print(json.dumps({'server_warm_up_s': round(warm, 3), 'map_s': round(time.perf_counter() - t1, 3)}))",
            path,
        )
        out["ours_umap"] = _fresh(
            "from scatterloop.core.embed.projection import fit_projection\n"
            "Y = fit_projection(X, 'umap', 2, seed=None)\n"
            "t1 = time.perf_counter()\nY = fit_projection(X, 'umap', 2, seed=None)\n"
            "print(json.dumps({'cold_s': round(t1 - t0, 3), 'warm_s': round(time.perf_counter() - t1, 3)}))",
            path,
        )
        coords = fit_projection(lat, "pca", 2)
        np.save(Path(tmp) / "coords2d.npy", coords)
        t0 = time.perf_counter()
        np.load(Path(tmp) / "coords2d.npy")
        out["ours_cached_map_s"] = round(time.perf_counter() - t0, 4)
    # placing 1,000 new images: encode them with a map-sized autoencoder, then place among the n
    model = ConvAutoencoder(AEConfig(size=size, latent_dim=int(lat.shape[1]))).eval()
    images = np.tanh(np.random.default_rng(seed).normal(size=(1000, 1, size, size))).astype(np.float32)
    t0 = time.perf_counter()
    new_lat = encode(model, images)
    t1 = time.perf_counter()
    place(new_lat, lat, coords)
    t2 = time.perf_counter()
    out["place_1000"] = {
        "encode_s": round(t1 - t0, 3),
        "place_s": round(t2 - t1, 3),
        "total_s": round(t2 - t0, 3),
        "goal_s": 1.0,
    }
    out["goal_first_map_s"] = 5.0
    return out


def bench_explore(n: int = 100_000, size: int | None = None, seed: int = 0) -> dict:
    """Server work of the Explore view with n mapped images: a 5,000-point lasso to its gallery page, a
    1,000-image relabel committed, and the recolour data for the figure patch."""
    from ..config import Settings
    from ..explore import groups_for, map_table
    from ..store import Image, MapPoint
    from ..workspace import Workspace

    rng = np.random.default_rng(seed)
    out: dict = {"bench": "explore", "n": n, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Settings(workspace=Path(tmp) / "ws"))
        t0 = time.perf_counter()
        rows = [
            dict(
                sha256=f"{i:064x}",
                path="none",
                frame=0,
                original_name=f"img{i}",
                height=64,
                width=64,
                dtype="int32",
                masked_fraction=0.0,
                provenance={},
                source="experimental" if i % 3 == 0 else "generated",
                pattern=("rings", "peaks", "background")[i % 3],
            )
            for i in range(n)
        ]
        with ws.store.session(write=True) as s:
            s.execute(Image.__table__.insert(), rows)
        run_id = ws.store.create_run("embed", {})
        xy = rng.normal(size=(n, 2))
        with ws.store.session(write=True) as s:
            s.execute(
                MapPoint.__table__.insert(),
                [
                    dict(run_id=run_id, image_id=i + 1, x=float(xy[i, 0]), y=float(xy[i, 1]), placed=False)
                    for i in range(n)
                ],
            )
        ws.store.update_run(run_id, status="done", result={"cache_dir": "cache"})
        out["setup_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        table = map_table(ws)
        out["map_table_s"] = round(time.perf_counter() - t0, 3)
        selected = rng.choice(table.ids, min(5000, len(table.ids) // 2), replace=False)
        selected_data = {
            "points": [{"curveNumber": 0, "pointNumber": int(k), "customdata": int(i)} for k, i in enumerate(selected)]
        }
        t0 = time.perf_counter()
        sel = list(dict.fromkeys(int(p["customdata"]) for p in selected_data["points"]))
        page = sel[:24]
        ws.store.get_images(page)
        ws.store.current_labels(page)
        out["lasso_to_gallery_s"] = round(time.perf_counter() - t0, 4)
        out["lasso_points"] = len(sel)
        relabel = [int(i) for i in selected[: min(1000, len(selected))]]
        t0 = time.perf_counter()
        ws.store.add_labels(relabel, "fake", "bench", round=1)
        out["relabel_commit_s"] = round(time.perf_counter() - t0, 4)
        out["relabel_images"] = len(relabel)
        t0 = time.perf_counter()
        groups_for(ws, relabel)
        map_table(ws)
        out["recolour_patch_data_s"] = round(time.perf_counter() - t0, 3)
        ws.store.dispose()
    out["goals_s"] = {"lasso_5000_to_gallery": 0.5, "relabel_1000_commit": 0.1}
    return out
