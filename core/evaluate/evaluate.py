"""Realism in numbers: the paper's Table 2 per pattern, polar symmetry by source, SSIM to the nearest
experimental frame, and the same figures per generator run, recorded as one `evaluate` run.

Every score carries its implementation, feature extractor, image counts and seed. FID is biased by the
number of images, so rows of one pattern whose generated counts differ are flagged rather than silently
compared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..jobs import Cancelled, Plan, ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..store import Image
from ..workspace import Workspace
from .metrics import FID_IMPLEMENTATION, fid, inception_score, kid

Extractor = Literal["autoencoder", "inception"]
GROUPS = ("all generated", "realistic", "fake")


@dataclass
class EvalParams:
    extractor: Extractor = "autoencoder"
    inception_weights: str | None = None
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    per_group_cap: int = 200  # images per group for the (slow) polar and SSIM statistics
    seed: int = 0
    device: str | None = None


IS_PER_SPLIT = 10  # images per Inception Score split, at least
FEATURE_CHUNK = 512  # images read and featurised at once (at 299 px: 180 MB of inputs)


@dataclass
class EvalResult:
    extractor: str
    implementation: dict
    table: list[dict] = field(default_factory=list)  # the paper's Table 2, one row per pattern and group
    by_generator_run: list[dict] = field(default_factory=list)
    symmetry: list[dict] = field(default_factory=list)  # per pattern and source group: values + summary
    ssim: list[dict] = field(default_factory=list)
    examples: dict = field(default_factory=dict)  # pattern → group → image ids (for grids and Fig. 6)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what was left out and why


def _extractor(ws: Workspace, params: EvalParams, progress: ProgressFn, should_stop: StopFn):
    from .features import AutoencoderFeatures, InceptionFeatures

    if params.extractor == "inception":
        if not params.inception_weights:
            raise ValueError(
                "inception: give a local Inception-v3 weights file (--inception-weights, or "
                "SCATTERLOOP_INCEPTION_WEIGHTS)"
            )
        from ..embed.autoencoder import pick_device

        return InceptionFeatures(params.inception_weights, device=pick_device(params.device))
    latest = ws.store.latest_map_run()
    if latest is None:  # the map's autoencoder is the default feature space: build one (PCA layout is enough)
        from ..embed import MapParams, build_map
        from ..jobs import run_job

        run_id, built = run_job(
            ws.store,
            "embed",
            {"method": "pca", "for": "evaluate"},
            lambda run_id, progress, should_stop: build_map(
                ws, MapParams(method="pca"), run_id=run_id, progress=progress, should_stop=should_stop
            ),
            progress=progress,
            should_stop=should_stop,
        )
        if built is None:  # the evaluation was cancelled while its map was built
            raise Cancelled()
        latest = ws.store.get_run(run_id)
    from ..embed.pipeline import map_cache

    return AutoencoderFeatures(map_cache(ws, latest.id) / "autoencoder", f"map run {latest.id}")


def _features(ws: Workspace, images: list[Image], extractor, progress: ProgressFn, should_stop: StopFn):
    """Features (and class probabilities where the extractor has classes) of every image, and its 64-px input
    for SSIM, read FEATURE_CHUNK images at a time: at Inception's 299 px the inputs of 50,000 images (FID-50k)
    would take 18 GB at once, their 2,048-d features 0.8 GB."""
    from ..embed.inputs import load_inputs

    feats, probs, small = [], [], np.zeros((len(images), 1, 64, 64), np.float32)
    with_classes = getattr(extractor, "has_classes", False)
    for start in range(0, len(images), FEATURE_CHUNK):
        check_stop(should_stop)
        chunk = images[start : start + FEATURE_CHUNK]
        progress(start, len(images), f"features {start}/{len(images)}")
        x, _ = load_inputs(ws, chunk, extractor.size, should_stop=should_stop)
        small[start : start + len(chunk)] = x if extractor.size == 64 else load_inputs(ws, chunk, 64)[0]
        if with_classes:
            f, p = extractor.features_and_probs(x)
            probs.append(p)
        else:
            f = extractor(x)
        feats.append(np.asarray(f, np.float64))
        del x
    progress(len(images), len(images), f"features of {len(images)} images")
    return np.concatenate(feats), (np.concatenate(probs) if with_classes else None), small


def _groups(ws: Workspace, pattern: str, images: list[Image], labels: dict) -> dict[str, list[Image]]:
    mine = [img for img in images if img.pattern == pattern]
    gen = [img for img in mine if img.source == "generated"]  # simulated frames are no generator's candidates
    return {
        "experimental": [img for img in mine if img.source == "experimental"],
        "all generated": gen,
        "realistic": [img for img in gen if labels.get(img.id) == "realistic"],
        "fake": [img for img in gen if labels.get(img.id) == "fake"],
    }


def _generator_label(img: Image) -> str:
    """The generator a candidate came from: its run and backend; candidates imported without one are said so (not
    "run 2 (unknown)", where run 2 was the import)."""
    backend = (img.provenance or {}).get("backend")
    if not backend:
        return f"imported by run {img.run_id}, generator not recorded" if img.run_id is not None else "not recorded"
    return f"run {img.run_id} ({backend})" if img.run_id is not None else str(backend)


def _scores(exp_f, gen_f, params: EvalParams, probs=None) -> dict:
    row: dict = {"n_experimental": len(exp_f), "n_generated": len(gen_f)}
    if len(exp_f) < 2 or len(gen_f) < 2:
        row["note"] = "fewer than 2 images on a side: no score"
        return row
    row["fid"] = round(fid(exp_f, gen_f), 4)
    k_mean, k_std, k_size = kid(
        exp_f, gen_f, subsets=params.kid_subsets, subset_size=params.kid_subset_size, seed=params.seed
    )
    row.update(kid_mean=round(k_mean, 6), kid_std=round(k_std, 6), kid_subset_size=k_size)
    if probs is not None:
        # a split of one or two images scores exactly 1 (its own mean); at least IS_PER_SPLIT images in each
        splits = min(params.is_splits, len(probs) // IS_PER_SPLIT)
        if splits < 1:
            row["is_note"] = f"Inception Score needs at least {IS_PER_SPLIT} generated images ({len(probs)} here)"
        else:
            is_mean, is_std = inception_score(probs, splits)
            row.update(is_mean=round(is_mean, 4), is_std=round(is_std, 4), is_splits=splits)
    return row


def kid_spread_measured(row: dict) -> bool:
    """Whether a row's KID std measures a spread: not where each subset held every image of both sides (with 3
    generated and 40 experimental images every subset holds the 3, but a different 3 of the 40: a spread)."""
    size = row.get("kid_subset_size")
    n = max(row.get("n_experimental") or 0, row.get("n_generated") or 0)
    return not (size is not None and n and size >= n)


def _flag_differing_n(rows: list[dict]) -> None:
    by_pattern: dict[str, set] = {}
    for r in rows:
        if "fid" in r:
            by_pattern.setdefault(r["pattern"], set()).add(r["n_generated"])
    for r in rows:
        if "fid" in r and len(by_pattern[r["pattern"]]) > 1:
            r["n_differs"] = True


def _summary(values: list[float]) -> dict:
    """n, median and quartiles of the symmetry scores; -1 (`polar.analyse`: no centre, no rings, so no score)
    is counted apart as `unscored`, never as a score."""
    v = np.asarray(values, float)
    unscored = int(np.count_nonzero(v == -1.0))
    v = v[v != -1.0]
    if not len(v):
        return {"n": 0, "unscored": unscored}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    summary = {"n": int(len(v)), "median": round(float(med), 4), "q1": round(float(q1), 4), "q3": round(float(q3), 4)}
    return {**summary, "unscored": unscored}


NO_PATTERNED = "evaluate: the workspace has no experimental frames with a pattern"


def check_can_evaluate(store, extractor: str = "autoencoder") -> None:
    """What an evaluation needs before it starts (a page asks at the click): experimental frames with a pattern,
    and, for the autoencoder's features without a map yet, images enough to build one."""
    from ..embed.pipeline import check_can_map
    from ..store import ImageFilter

    patterned = [img for img, _ in store.list_images(ImageFilter(source="experimental")) if img.pattern]
    if not any(img.pattern != "speckle" for img in patterned):
        raise ValueError(NO_PATTERNED)
    if extractor != "inception" and store.latest_map_run() is None:
        check_can_map(store)


def nothing_to_evaluate(store) -> str | None:
    """Why the workspace has nothing any evaluation could measure (no experimental frames of a pattern: imported
    real frames only, a speckle study), or None. A report then holds the rest and says this."""
    try:
        check_can_evaluate(store, "inception")  # what every extractor needs; the autoencoder's map comes later
    except ValueError as exc:
        return str(exc)
    return None


def evaluate(
    ws: Workspace,
    params: EvalParams,
    *,
    run_id: int,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> EvalResult:
    from skimage.metrics import structural_similarity

    from ..explore import polar_view

    t0 = time.perf_counter()
    every = [img for img, _ in ws.store.list_images() if img.source in ("experimental", "generated")]
    images = [img for img in every if img.pattern and img.pattern != "speckle"]
    unpatterned = sum(img.source == "generated" and not img.pattern for img in every)
    if not any(img.source == "experimental" for img in images):
        raise ValueError(NO_PATTERNED)
    labels = {i: s.label for i, s in ws.store.current_labels().items()}
    patterns = sorted({img.pattern for img in images})
    groups_of = {pattern: _groups(ws, pattern, images, labels) for pattern in patterns}
    rng = np.random.default_rng(params.seed)
    scored: dict[tuple[str, str], list] = {}  # symmetry of at most per_group_cap images of each pattern and group
    for pattern in patterns:
        for name in ("experimental", *GROUPS):
            members = groups_of[pattern][name]
            if len(members) > params.per_group_cap:
                members = [members[i] for i in sorted(rng.choice(len(members), params.per_group_cap, replace=False))]
            scored[pattern, name] = members
    # one bar for the whole evaluation: the polar symmetry of each image is most of the work
    plan = Plan(progress, 22 + 2 * len(patterns) + sum(len(m) for m in scored.values()))
    extractor = _extractor(ws, params, plan.part(10, 3), should_stop)
    feats, probs, small = _features(ws, images, extractor, plan.part(12), should_stop)
    index = {img.id: k for k, img in enumerate(images)}
    result = EvalResult(
        extractor=extractor.name,
        implementation={
            "fid": FID_IMPLEMENTATION,
            "kid": f"unbiased MMD² cubic polynomial kernel, {params.kid_subsets} subsets",
            "is": f"up to {params.is_splits} splits of at least {IS_PER_SPLIT} images"
            if probs is not None
            else "not computed: needs class probabilities (Inception-v3 weights)",
            "ssim": "skimage.metrics.structural_similarity, 64 px inputs, data_range 2, nearest experimental "
            "frame in feature space",
            "symmetry": "scatterloop.core.polar sector agreement about the searched beam centre",
            "seed": params.seed,
        },
    )
    if unpatterned:
        result.notes.append(
            f"{unpatterned} generated image(s) without a pattern (prompt only) not evaluated: each score compares a "
            "pattern's candidates with its experimental frames"
        )
    for pattern in patterns:
        check_stop(should_stop)
        plan.step(f"{pattern}: FID/KID", 1)
        groups = groups_of[pattern]
        exp_idx = [index[img.id] for img in groups["experimental"]]
        for name in GROUPS:
            gen_idx = [index[img.id] for img in groups[name]]
            row = _scores(feats[exp_idx], feats[gen_idx], params, probs[gen_idx] if probs is not None else None)
            result.table.append({"pattern": pattern, "group": name, **row})
        runs: dict[str, list[int]] = {}
        for img in groups["all generated"]:
            runs.setdefault(_generator_label(img), []).append(index[img.id])
        for label, gen_idx in sorted(runs.items()):
            row = _scores(feats[exp_idx], feats[gen_idx], params)
            result.by_generator_run.append({"pattern": pattern, "generator": label, **row})
        # symmetry of rings (and of any pattern) per source group, on at most per_group_cap images each
        n_sym = sum(len(scored[pattern, name]) for name in ("experimental", *GROUPS))
        sym, k = plan.part(n_sym), 0
        for name in ("experimental", *GROUPS):
            members = scored[pattern, name]
            values = []
            for img in members:
                check_stop(should_stop)
                sym(k, n_sym, f"{pattern}: polar symmetry {k + 1}/{n_sym}")
                values.append(round(float(polar_view(ws, img.id).symmetry), 4))
                k += 1
            result.symmetry.append({"pattern": pattern, "group": name, "values": values, **_summary(values)})
            result.examples.setdefault(pattern, {})[name] = [img.id for img in members[:6]]
        plan.step(f"{pattern}: SSIM", 1)
        # SSIM of each generated image to its nearest experimental frame in feature space
        if exp_idx:
            ef = feats[exp_idx]
            for name in GROUPS:
                values = []
                for img in groups[name][: params.per_group_cap]:
                    k = index[img.id]
                    nearest = exp_idx[int(np.argmin(((ef - feats[k]) ** 2).sum(1)))]
                    values.append(
                        round(float(structural_similarity(small[k, 0], small[nearest, 0], data_range=2.0)), 4)
                    )
                result.ssim.append({"pattern": pattern, "group": name, "values": values, **_summary(values)})
    _flag_differing_n(result.table)
    _flag_differing_n(result.by_generator_run)
    result.seconds = round(time.perf_counter() - t0, 2)
    plan.finish("evaluation finished")
    return result
