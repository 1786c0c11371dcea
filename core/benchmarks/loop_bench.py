"""`scatterloop bench loop`: the human-in-the-loop method on simulated candidates with known truth.

One process, one seed set: candidates are the simulator's hallucination variants as they are (half of them
hallucinated), the annotator errs on 5 % of images (the same images for every recipe), and a held-out truth set
scores each round's soft vote. Our default recipe and the paper's are trained side by side at the same label
counts; uncertainty-ordered labelling (the review queue's order) is compared against random order; the
pre-labelling figures are what `prelabel` would accept from the unlabeled pool at its default threshold.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import job, step
from .classify_bench import _simulated_workspace as _workspace
from .io_bench import machine

PRELABEL_THRESHOLD = 0.9
PRECISION_FIRST = 3.0  # the positive cost of the precision-first operating point scored beside ours


def _truth(img) -> int:
    return int(bool((img.truth or {}).get("realistic")))


def _round(ws, recipe: str, seed: int, epochs: int | None):
    from ..classify import RoundParams, train_round

    params = RoundParams(recipe=recipe, seed=seed, epochs=epochs)
    t0 = time.perf_counter()
    run_id, res = job(
        ws.store,
        "classify",
        lambda run_id, progress, should_stop: train_round(ws, params, run_id=run_id, should_stop=should_stop),
        None,  # `bench_loop` counts its rounds as its stages
    )
    return ws.store.get_run(run_id).result, time.perf_counter() - t0


def _soft(ws, result: dict, images, image_ws=None) -> np.ndarray:
    """P(realistic) of the soft vote."""
    from ..classify.scoring import round_probabilities

    _, probs = round_probabilities(ws, result, images, image_ws=image_ws)
    return probs.mean(0)[:, result["classes"].index("realistic")]


def _threshold(result: dict) -> float:
    """P(realistic) above which the round calls an image realistic (its recipe's decision rule)."""
    return (result.get("decision") or {}).get("threshold") or 0.5


def _score(p: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> dict:
    pred = (p > threshold).astype(int)  # as `voting.decide`: a tie goes to "fake"
    tp, called = int(((pred == 1) & (y == 1)).sum()), int((pred == 1).sum())
    return {
        "accuracy": round(float((pred == y).mean()), 4),
        "precision": round(tp / max(1, called), 4),
        "precision_ci95": _wilson(tp, called),
        "recall": round(tp / max(1, int((y == 1).sum())), 4),
    }


def _wilson(k: int, n: int) -> list[float] | None:
    """95 % Wilson interval of a proportion k / n: how far one truth set of a few hundred images pins a precision
    (0.948 of 155 calls is 0.90-0.97)."""
    from scipy.stats import binomtest

    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 3), round(float(ci.high), 3)]


def bench_loop(
    quick: bool = False,
    seed: int = 0,
    error_rate: float = 0.05,
    test: int | None = None,
    epochs: int | None = None,
    size: int = 256,
) -> dict:
    """Learning curves of our recipe and the paper's, active against random order, and pre-labelling."""
    from ..classify.predict import candidates as unlabeled

    counts = [30, 60, 150] if quick else [30, 60, 150, 300, 600]
    pool = 240 if quick else 1000
    n_exp = 60 if quick else 300
    n_test = test or (120 if quick else 300)
    epochs = epochs or (8 if quick else None)
    rng = np.random.default_rng(seed)
    out: dict = {"bench": "loop", "machine": machine(), "quick": quick, "candidate_size": size, "labels": counts}
    t_start = time.perf_counter()
    # stages: the two workspaces, a round of each recipe per label count, then the queue's rounds (at most)
    stages = 2 + 2 * len(counts) + (5 if quick else 10)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        step(0, stages, "simulating candidates")
        ws = _workspace(root / "a", pool, n_exp, size, seed)
        step(1, stages, "simulating the truth set")
        test_ws = _workspace(root / "test", n_test, 0, size, seed + 500)
        test_imgs = [img for img, _ in test_ws.store.list_images()]
        y_test = np.array([_truth(img) for img in test_imgs])
        cands = [img for img, _ in ws.store.list_images() if img.source == "generated"]
        order = [cands[i] for i in rng.permutation(len(cands))]
        flip = {img.id: bool(rng.random() < error_rate) for img in cands}  # the annotator's mistakes, fixed

        def say(img) -> str:
            t = _truth(img)
            return "realistic" if (t ^ flip[img.id]) else "fake"

        def label(store, imgs):
            for verdict in ("realistic", "fake"):
                ids = [img.id for img in imgs if say(img) == verdict]
                if ids:
                    store.add_labels(ids, verdict, "oracle")

        curves = {r: {"soft_accuracy": [], "soft_precision": [], "soft_precision_ci95": [], "soft_recall": [],
                      "round_seconds": []} for r in ("ours", "paper")}  # fmt: skip
        # ours calls "realistic" above its recipe's threshold; beside it, the same probabilities as a round with
        # `--positive-cost 3` calls them (above 0.75): costs change decisions, never training or calibration
        first = {"positive_cost": PRECISION_FIRST, "threshold": PRECISION_FIRST / (1 + PRECISION_FIRST),
                 "soft_accuracy": [], "soft_precision": [], "soft_recall": []}  # fmt: skip
        done, doubted = 0, []
        for n in counts:
            label(ws.store, order[done:n])
            done = n
            for r in ("ours", "paper"):
                at = 2 + 2 * counts.index(n) + (r == "paper")
                step(at, stages, f"{r} round at {n} labels")
                result, secs = _round(ws, r, seed, epochs if r == "ours" else None)
                p_test = _soft(ws, result, test_imgs, test_ws)
                s = _score(p_test, y_test, _threshold(result))
                c = curves[r]
                c["soft_accuracy"].append(s["accuracy"])
                c["soft_precision"].append(s["precision"])
                c["soft_precision_ci95"].append(s["precision_ci95"])
                c["soft_recall"].append(s["recall"])
                if r == "ours":
                    out["decision"] = result.get("decision")
                    s = _score(p_test, y_test, first["threshold"])
                    for k in ("accuracy", "precision", "recall"):
                        first[f"soft_{k}"].append(s[k])
                c["round_seconds"].append(round(secs, 1))
                if r == "ours":
                    slips = {img.id for img in order[:n] if flip[img.id]}
                    flagged = {d["id"] for d in result.get("doubted", [])}
                    doubted.append({"labels": n, "slips": len(slips), "doubted": len(flagged),
                                    "doubted_slips": len(flagged & slips)})  # fmt: skip
                if r == "ours" and n == (300 if not quick else 150):
                    out["prelabel"] = _prelabel(ws, result, unlabeled(ws.store, "realism"))
        out["ours"], out["paper_recipe"] = curves["ours"], curves["paper"]
        out["ours_precision_first"] = first
        # the labels each round of ours asked to be looked at again, against the annotator's actual slips
        out["doubted_labels"] = doubted
        out["round_seconds_600"] = curves["ours"]["round_seconds"][-1] if not quick else None
        curves["labels"] = counts
        base = 2 + 2 * len(counts)
        out["active"] = _active(
            root, ws, order, say, test_imgs, test_ws, y_test, seed, epochs, quick, curves,
            lambda k, n: step(base + k, stages, f"review queue round at {n} labels"),
        )  # fmt: skip
        step(stages, stages, "done")
        del curves["labels"]
        out["active_labels_to_match_random_300"] = out["active"]["labels_to_match"]
        out["truth_n"] = int(len(y_test))
        out["truth_realistic"] = int(y_test.sum())
        ws.store.dispose()
        test_ws.store.dispose()
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    return out


def _prelabel(ws, result: dict, ids: list[int]) -> dict:
    """What pre-labelling at the default threshold would accept from the unlabeled pool, checked on truth."""
    images = ws.store.get_images(ids)
    p = _soft(ws, result, images)
    conf = np.where(p > _threshold(result), p, 1 - p)  # the probability of the class decided, as stored
    take = conf >= PRELABEL_THRESHOLD
    truth = np.array([_truth(img) for img in images])
    agree = ((p > _threshold(result)).astype(int) == truth)[take]
    return {
        "threshold": PRELABEL_THRESHOLD,
        "unlabeled": len(ids),
        "accepted_fraction": round(float(take.mean()), 4) if len(ids) else 0.0,
        "agreement_with_truth": round(float(agree.mean()), 4) if take.any() else None,
    }


def _active(root, ws, order, say, test_imgs, test_ws, y_test, seed, epochs, quick, curves, shown) -> dict:
    """The review queue's order (`review_order`: least confident soft vote first within each pattern, the
    patterns taking turns) from the first 30 labels, until random order's accuracy at 300 labels (150 with
    --quick) is matched."""
    from ..classify.predict import candidates as unlabeled
    from ..classify.predict import review_order
    from ..config import Settings
    from ..ingest import import_paths
    from ..workspace import Workspace

    target_n = 150 if quick else 300
    target = curves["ours"]["soft_accuracy"][curves["labels"].index(target_n)]
    al = Workspace.open(Settings(workspace=root / "active"))
    shutil.copytree(ws.cache / "features", al.cache / "features", dirs_exist_ok=True)
    import_paths(al, [root / "a" / "sim" / "exp"], source="experimental")
    import_paths(al, [root / "a" / "sim" / "cand"], source="generated", round=al.store.current_round())
    original = {img.sha256: img for img in order}

    def label(imgs) -> None:
        for verdict in ("realistic", "fake"):
            ids = [img.id for img in imgs if say(original[img.sha256]) == verdict]
            if ids:
                al.store.add_labels(ids, verdict, "oracle")

    by_sha = {img.sha256: img for img, _ in al.store.list_images()}
    label([by_sha[img.sha256] for img in order[:30]])
    steps = [60, 90, 120, 150] if quick else [60, 90, 120, 150, 180, 210, 240, 270, 300]
    curve, have, match = [], 30, None
    shown(0, 30)
    result, _ = _round(al, "ours", seed, epochs)
    for k, n in enumerate(steps, 1):
        shown(k, n)
        images = al.store.get_images(unlabeled(al.store, "realism"))
        p = _soft(al, result, images)
        # the queue's order: the odds of the more likely class (`predict.odds`), whatever the round's costs call
        order = review_order(np.maximum(p, 1 - p), [img.pattern for img in images])
        label([images[i] for i in order[: n - have]])
        have = n
        result, _ = _round(al, "ours", seed, epochs)
        p_test = _soft(al, result, test_imgs, test_ws)
        acc = _score(p_test, y_test, _threshold(result))["accuracy"]
        first = _score(p_test, y_test, PRECISION_FIRST / (1 + PRECISION_FIRST))["accuracy"]
        curve.append({"labels": n, "soft_accuracy": acc, "soft_accuracy_precision_first": first})
        if acc >= target:
            match = n
            break
    al.store.dispose()
    return {
        "random_accuracy_at": {"labels": target_n, "soft_accuracy": target},
        "curve": curve,
        "labels_to_match": match,
        "fraction_of_random": round(match / target_n, 3) if match else None,
    }
