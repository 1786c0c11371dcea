"""Predict candidates with a round's models and ensemble, pre-label above a threshold, and build review queues.

Predictions are model label events (annotator `model:<arch>` and `ensemble:<scheme>`, with confidence): they
sit beside the human labels and never change them. Pre-labelling turns confident ensemble suggestions into
labels only for images that have no human label at the moment of writing, marked as pre-labels so the
review queue still offers them to a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..embed.autoencoder import pick_device
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..store import Store
from ..store.models import as_utc
from ..store.undo import PRELABEL, prelabel_annotator
from ..workspace import Workspace
from .data import FAKE, REALISTIC
from .domain import combine
from .scoring import round_predictions
from .voting import decide, hard_vote, round_costs, soft_vote

Scheme = Literal["hard", "soft", "weighted"]


@dataclass
class PredictResult:
    classify_run: int
    images: int
    models: list[str]
    scheme: str
    suggested: dict[str, int]  # class → images the ensemble suggests it for
    predictions: str  # npz with every model's probabilities
    selection: str = "candidates"  # which images: the unlabeled candidates or a user's selection
    outside_domain: int | None = None  # images unlike the networks' training frames (None: no network checks)


UNKNOWN_PATTERNS = (None, "", "unknown")


def candidates(store: Store, task: str, pattern: str | None = None) -> list[int]:
    """Images that this task's models should judge: for realism the generated candidates without a human label
    (experimental frames are real by what they are; simulated ones are the pattern task's training frames, their
    truth known), for labels every image without one; for the pattern task those whose pattern nobody knows
    (imported frames, experimental ones included)."""
    if task == "pattern":
        return [img.id for img, _ in store.list_images() if img.pattern in UNKNOWN_PATTERNS]
    labelled = {i for i, s in store.current_labels().items() if s.label}
    out = []
    for img, _ in store.list_images():
        if img.id in labelled or (pattern and img.pattern != pattern):
            continue
        if task != "labels" and img.source != "generated":
            continue
        out.append(img.id)
    return out


def predict_candidates(
    ws: Workspace,
    classify_run: int,
    *,
    run_id: int,
    scheme: Scheme = "weighted",
    device: str | None = None,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> PredictResult:
    """Every unlabeled candidate through each model of `classify_run` and the ensemble; stored as model events."""
    res = _finished_round(ws, classify_run)
    ids = candidates(ws.store, res["task"], (res.get("sets") or {}).get("pattern"))
    if not ids:
        raise ValueError(
            "no image of unknown pattern to predict (--images names any, experimental frames included)"
            if res["task"] == "pattern"
            else "no unlabeled candidates to predict"
        )
    which = "images of unknown pattern" if res["task"] == "pattern" else "candidates"  # what `candidates` chose
    return _predict(ws, classify_run, res, ids, run_id, scheme, device, progress, should_stop, which)


def predict_images(
    ws: Workspace,
    classify_run: int,
    image_ids: list[int],
    *,
    run_id: int,
    scheme: Scheme = "weighted",
    device: str | None = None,
    selection: str = "chosen images",
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> PredictResult:
    """Any images (experimental frames, labelled ones included) through a round's models and ensemble.

    Stored as model events like the candidates' predictions, so a human label on any of them stays the
    image's label; the suggestion sits beside it (and a contradiction lands in the disagreement queue).
    """
    res = _finished_round(ws, classify_run)
    if not image_ids:
        raise ValueError(f"no images match {selection}")
    return _predict(ws, classify_run, res, list(image_ids), run_id, scheme, device, progress, should_stop, selection)


def _finished_round(ws: Workspace, classify_run: int) -> dict:
    run = ws.store.get_run(classify_run)
    if run is None or run.kind != "classify" or run.status != "done" or not run.result:
        raise ValueError(f"run {classify_run}: not a finished classifier round")
    return run.result


def _predict(ws, classify_run, res, ids, run_id, scheme, device, progress, should_stop, selection) -> PredictResult:
    classes = res["classes"]
    device = pick_device(device)
    archs, stacked, ratios = round_predictions(
        ws, res, ws.store.get_images(ids), device=device, progress=progress, should_stop=should_stop
    )
    ratio = combine(ratios)  # the image's distance from the networks' training frames (NaN: no network checks)
    probs = list(stacked)
    weights = np.array([res["weights"][a] for a in archs])
    costs = round_costs(res)  # decide as the round scored: least expected cost where the recipe prices calls
    ensemble = {
        "hard": _hard_with_probability(stacked, costs),
        "soft": soft_vote(stacked),
        "weighted": soft_vote(stacked, weights),
    }
    round_no = ws.store.current_round()
    check_stop(should_stop)
    for arch, p, r in zip(archs, probs, ratios, strict=True):
        _write(ws.store, ids, p, classes, f"model:{arch}", round_no, costs, r)
    for name in [s for s in ensemble if s != scheme] + [scheme]:  # the chosen scheme last: it is the suggestion
        # the hard vote's rows are already decisions (the winner and its mean probability)
        cost = None if name == "hard" else costs
        _write(ws.store, ids, ensemble[name], classes, f"ensemble:{name}", round_no, cost, ratio)
    path = ws.run_dir(run_id) / "predictions.npz"
    np.savez(path, ids=np.array(ids), probs=stacked, models=np.array(archs), classes=np.array(classes), domain=ratios)
    meta = {"classify_run": classify_run, "selection": selection}
    ws.store.add_artifact("predictions", ws.relative(path), run_id=run_id, meta=meta)
    chosen = decide(ensemble[scheme], None if scheme == "hard" else costs)
    return PredictResult(
        classify_run=classify_run,
        images=len(ids),
        models=archs,
        scheme=scheme,
        suggested={c: int((chosen == i).sum()) for i, c in enumerate(classes)},
        predictions=ws.relative(path),
        selection=selection,
        outside_domain=int(np.sum(ratio > 1.0)) if np.any(np.isfinite(ratio)) else None,
    )


def _hard_with_probability(probs: np.ndarray, costs: np.ndarray | None = None) -> np.ndarray:
    """Hard-vote result as a one-row-per-image distribution: the winner gets the models' mean calibrated
    probability of it. Its share of the votes was stored before: two models agreeing at 0.52 made a "1.0" call,
    which pre-labelling at 0.9 accepted (a hallucination approved on two coin flips)."""
    winner = hard_vote(probs, costs)
    rows = np.arange(len(winner))
    out = np.zeros(probs.shape[1:])
    out[rows, winner] = np.maximum(probs.mean(0)[rows, winner], 1e-12)  # > 0: the row still decides the winner
    return out


def _write(
    store: Store,
    ids: list[int],
    probs: np.ndarray,
    classes: list[str],
    annotator: str,
    round_no: int,
    costs: np.ndarray | None = None,
    domain: np.ndarray | None = None,
):
    """Each image's decision as a model label event, its confidence the probability of the class decided, with its
    domain ratio where the model measured one."""
    best = decide(probs, costs)
    for c in np.unique(best):
        rows = np.flatnonzero(best == c)
        store.add_labels(
            [ids[r] for r in rows],
            classes[c],
            annotator=annotator,
            origin="model",
            confidence=[float(probs[r, c]) for r in rows],
            round=round_no,
            domain=None if domain is None else [float(domain[r]) if np.isfinite(domain[r]) else None for r in rows],
        )


def task_classes(store: Store, task: str) -> list[str]:
    """The classes of the latest finished round of `task` (none: no such round)."""
    runs = [r for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result]
    mine = [r for r in runs if r.result.get("task") == task]
    return list(max(mine, key=lambda r: r.id).result.get("classes") or []) if mine else []


def task_suggestions(
    store: Store, task: str, scheme: str | None = None, image_ids=None
) -> tuple[list[str], dict[int, tuple[str | None, float | None]]]:
    """(classes, image id → (suggested class, confidence)) from the ensemble's latest suggestion among the classes
    of `task`'s latest finished round (`scheme`'s vote, else the scheme prediction wrote last): a pattern call on
    the same image is never taken for a realism call, nor the other way round."""
    classes = task_classes(store, task)
    who = {"annotator": f"ensemble:{scheme}"} if scheme else {"annotator_prefix": "ensemble:"}
    if classes:
        return classes, store.model_suggestions(**who, labels=classes, image_ids=image_ids)
    if task != "realism":
        return [], {}
    # no realism round recorded (suggestions written by an older version, or by hand): any call but a pattern's
    return [], store.model_suggestions(**who, exclude_labels=task_classes(store, "pattern"), image_ids=image_ids)


def task_domains(store: Store, task: str, image_ids=None) -> dict[int, float]:
    """Image id → domain ratio (`domain.DomainCheck`) of the same calls `task_suggestions` reads, where the
    networks measured one (> 1: unlike the frames they were trained on)."""
    classes = task_classes(store, task)
    if not classes:
        return {}
    return store.model_domains(annotator_prefix="ensemble:", labels=classes, image_ids=image_ids)


def pattern_suggestions(store: Store) -> tuple[list[str], dict[int, tuple[str | None, float | None]]]:
    """(classes, image id → (predicted pattern, confidence)) from the ensemble's latest suggestion of the latest
    finished pattern-task round's classes; realism or other suggestions on the same image are not mixed in.
    Prediction writes the chosen voting scheme last, so the latest `ensemble:*` event is the suggestion."""
    return task_suggestions(store, "pattern")


LABEL_TASKS = ("realism", "labels")  # the tasks whose calls are labels (a pattern call is import metadata's kind)


def label_task(store: Store, task: str | None = None) -> str:
    """The task whose calls pre-labelling and the review queues read: `task` when given, else that of the latest
    finished round of a labelling task (realism, or the labels task: speckle disk counts), else realism."""
    if task is not None:
        if task not in LABEL_TASKS:
            raise ValueError(f"task: expected one of {', '.join(LABEL_TASKS)} (calls that are labels), got {task!r}")
        return task
    runs = [r for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result]
    mine = [r for r in runs if r.result.get("task") in LABEL_TASKS]
    return max(mine, key=lambda r: r.id).result["task"] if mine else "realism"


def _label_calls(store: Store, task: str, scheme: str | None) -> tuple[set, dict]:
    """(the task's classes, its calls) as labels: realism calls only on generated candidates (`_candidates_only`);
    the labels task's on any image (it exists to call experimental frames)."""
    classes, sugg = task_suggestions(store, task, scheme)  # a label is the task's call, never a pattern's
    if task != "realism":
        return set(classes), sugg
    realism = set(classes) or {REALISTIC, FAKE}  # a disk count or another set's label is no realism label
    return realism, _candidates_only(store, sugg, realism)


def prelabel(
    store: Store, *, threshold: float, annotator: str, scheme: Scheme = "weighted", round: int | None = None,
    task: str | None = None,
) -> dict:  # fmt: skip
    """Accept the ensemble's suggestion as the label where its confidence ≥ `threshold`, no human label exists and
    the image is not unlike the networks' training frames (`domain`); a human label is never overwritten (checked
    inside the write). `task`: whose calls (`label_task`). Returns the counts ("confident": sure calls taken,
    "unlike_training": sure ones left) and the task."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a number between 0 and 1, got {threshold}")
    task = label_task(store, task)
    _, sugg = _label_calls(store, task, scheme)
    if scheme == "hard":  # a prediction stored before the hard vote carried a probability held its share of votes
        _, soft = _label_calls(store, task, "soft")
        sugg = {i: (lab, _at_most_soft(lab, conf, soft.get(i))) for i, (lab, conf) in sugg.items()}
    confident = {i: (lab, conf) for i, (lab, conf) in sugg.items() if lab and conf is not None and conf >= threshold}
    far = {i for i, r in task_domains(store, task).items() if r > 1.0 and i in confident} if confident else set()
    confident = {i: c for i, c in confident.items() if i not in far}  # a sure call on an unfamiliar image is no label
    written = store.add_labels_where_unlabeled(  # in the current round unless told (an export by round keeps them)
        confident,
        annotator=prelabel_annotator(annotator, threshold),
        round=store.current_round() if round is None else round,
    )
    return {
        "task": task,
        "suggested": len(sugg),
        "confident": len(confident),
        "unlike_training": len(far),
        "prelabelled": len(written),
    }


def _at_most_soft(label, conf, soft) -> float | None:
    """A hard vote's confidence no higher than the models' mean probability of its class (the soft vote stored
    beside it: its own class's probability, or for another class at most what the soft call leaves)."""
    if conf is None or soft is None or soft[1] is None:
        return conf
    return min(conf, soft[1] if soft[0] == label else 1.0 - soft[1])


def review_queue(
    store: Store, kind: Literal["uncertain", "disagree", "doubted"] = "uncertain", scheme: Scheme = "weighted",
    task: str | None = None,
) -> list[int]:  # fmt: skip
    """Image ids to review: least confident suggestions first (unlabeled or only pre-labelled images), images
    whose human label the ensemble contradicts (most confident contradiction first), or the labels the latest
    round doubted (`doubted_queue`); of `task`'s calls (`label_task`)."""
    if kind == "doubted":
        return doubted_queue(store, label_task(store, task))
    classes, sugg = _label_calls(store, label_task(store, task), scheme)
    labels = store.current_labels() if sugg else {}
    if kind == "uncertain":
        open_ = [
            i for i in sugg if i not in labels or labels[i].label is None or PRELABEL in (labels[i].annotator or "")
        ]
        return _uncertain_order(store, open_, sugg)
    if kind == "disagree":
        differ = [  # a label and a call of one label set: a realism call never contradicts a disk count
            i
            for i in sugg
            if i in labels
            and labels[i].label
            and (labels[i].label in classes) == (sugg[i][0] in classes)
            and labels[i].label != sugg[i][0]
        ]
        return sorted(differ, key=lambda i: (-(sugg[i][1] or 0.0), i))
    raise ValueError(f"queue: expected 'uncertain', 'disagree' or 'doubted', got {kind!r}")


def _candidates_only(store: Store, sugg: dict, realism: set) -> dict:
    """The calls, less realism calls (`realism`: its classes) on frames that are no generated candidates: an
    experimental frame is real by what it is, a simulated one a pattern frame of known truth, so neither is
    pre-labelled nor queued for a realism judgement (the realism task trains on an experimental frame as realistic
    whatever a label says), even when a person asked for it to be scored. Another task's calls
    (the `labels` task exists to call experimental frames) stay."""
    asked = [i for i, (lab, _) in sugg.items() if lab in realism]
    if not asked:
        return sugg
    not_candidates = {img.id for img in store.get_images(asked) if img.source != "generated"}
    return {i: v for i, v in sugg.items() if i not in not_candidates}


def review_order(confidence: np.ndarray, patterns: list) -> np.ndarray:
    """Review order (indices): least confident first within each pattern, the patterns taking turns (the one
    whose next image is least confident first; a pattern that runs out drops out).

    Uncertainty sampling in batches needs variety: the least confident images of a round are often one
    pattern's borderline frames, and a batch spent on them teaches nothing of the others. `bench loop`'s
    uncertainty order reached random order's 300-label accuracy with 120 and 150 labels on seeds 0 and 1 this
    way, with 240 and 150 by confidence alone; adding the models' disagreement to the key (query by
    committee) helped seed 0 (150) and on seed 1 never got there in 300."""
    confidence = np.asarray(confidence, np.float64)
    names = ["" if p is None else str(p) for p in patterns]
    _, pattern = np.unique(names, return_inverse=True)  # sorted names, so ties go to the first name
    turn = np.zeros(len(names), np.int64)  # an image's place in its own pattern's queue
    seen: dict[int, int] = {}
    for i in np.argsort(confidence, kind="stable"):
        turn[i] = seen.get(pattern[i], 0)
        seen[pattern[i]] = turn[i] + 1
    return np.lexsort((pattern, confidence, turn)).astype(np.int64)  # turn first, then the least confident


def odds(label: str | None, confidence: float | None) -> float:
    """The probability of the more likely class of a suggestion: its confidence, or for a realism call the
    costs made against the odds (`voting.decide`: "fake" at 0.3 is 0.7 realistic), one minus it.

    The uncertain queue orders by this, not by the confidence of the class called: ordered by the latter it
    starts at the calls just below the recipe's threshold (0.5-0.75 realistic), and on `bench loop` seed 3 the
    models trained on such labels never reached random order's 300-label accuracy (0.61 at 300 labels),
    where ordered by the odds they reached it at 180."""
    if confidence is None:
        return 0.0
    if label in (REALISTIC, FAKE):
        return max(confidence, 1.0 - confidence)
    return confidence


def _uncertain_order(store: Store, ids: list[int], sugg: dict) -> list[int]:
    """`ids` in `review_order` by the odds of the ensemble's suggestion (`odds`) and each image's pattern, ties
    by id."""
    ids = sorted(ids)
    conf = np.array([odds(*sugg[i]) for i in ids])
    pattern = {img.id: img.pattern for img in store.get_images(ids)}
    return [ids[k] for k in review_order(conf, [pattern.get(i) for i in ids])]


def doubted_queue(store: Store, task: str | None = None) -> list[int]:
    """The labels the latest round of `task` (default: the latest round's) doubted out of sample, most doubted
    first, less those a person has labelled since that round started (corrected or confirmed: their word
    stands). The disagreement queue reads models fitted on the very labels it checks; this one does not."""
    from .tables import classify_runs

    runs = [r for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result]
    if task is None and runs:
        task = max(runs, key=lambda r: r.id).result.get("task")
    runs = classify_runs(store, task)
    if not runs:
        return []
    run = max(runs, key=lambda r: r.id)
    since = run.started_at or run.created_at
    rows = run.result.get("doubted") or []
    labels = store.current_labels([r["id"] for r in rows])
    out = []
    for r in rows:
        now = labels.get(r["id"])
        if now is None or now.label != r["label"]:
            continue
        when = now.at
        if since is not None and when is not None and as_utc(when) > as_utc(since):
            continue
        out.append(int(r["id"]))
    return out
