"""The paper's Table 3 from stored runs: accuracy, precision, recall and F1 of every model and voting
scheme (rows), one column per round and start (1st, 2nd from scratch, 2nd fine-tuned, ...)."""

from __future__ import annotations

import numpy as np

from ..store import Store

METRICS = ("accuracy", "precision", "recall", "f1")
VOTES = ("hard", "soft", "weighted")


def metrics_meaning(task: str | None) -> str:
    """Which class precision and recall refer to (voting.scores: the realism task's positive class is
    "realistic"; other tasks average over their classes). The Train tab and the report both say it."""
    where = "On each round's validation set (an image once held out never trains; a fifth of new labels join). "
    if task == "realism":
        return (
            where + "Precision, recall and F1 are those of the class 'realistic' (a fake called realistic is a "
            "false positive); accuracy is over both classes."
        )
    return where + "Precision, recall and F1 are macro averages over the task's classes (each class weighs the same)."


def classify_runs(store: Store, task: str | None = None) -> list:
    """Finished classifier rounds, oldest first; the latest run of each (round, start) when repeated."""
    runs = [r for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result]
    if task is None and runs:
        task = runs[0].result.get("task")
    latest: dict[tuple, object] = {}
    for r in sorted(runs, key=lambda r: r.id):
        if r.result.get("task") == task:
            latest[(r.result["round"], r.result["init"])] = r
    return [latest[k] for k in sorted(latest, key=lambda k: (k[0], k[1] != "scratch"))]


def classify_tasks(store: Store) -> list[str]:
    """The tasks that have a finished round, realism first (`data.TASKS` order, then any other)."""
    from .data import TASKS

    seen = {
        r.result.get("task") for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result
    }
    seen.discard(None)
    return [t for t in TASKS if t in seen] + sorted(seen - set(TASKS))


def column_label(result: dict) -> str:
    start = "fine-tuned" if result["init"] == "finetune" else "scratch"
    return f"round {result['round']} · {start}"


def metrics_table(store: Store, task: str | None = None) -> dict:
    runs = classify_runs(store, task)
    columns = [
        {
            "run_id": r.id,
            "label": column_label(r.result),
            "round": r.result["round"],
            "init": r.result["init"],
            "train": r.result["sets"].get("train"),
            "validation": r.result["sets"].get("validation"),
        }
        for r in runs
    ]
    rows: dict[str, dict] = {}
    for r in runs:
        entries = [(name, "model", m["metrics"]) for name, m in r.result["models"].items()]
        entries += [(f"{v} voting", "vote", r.result["voting"][v]) for v in VOTES if v in r.result["voting"]]
        for name, kind, m in entries:
            row = rows.setdefault(name, {"name": name, "kind": kind, "cells": {}})
            row["cells"][str(r.id)] = {k: round(float(m[k]), 4) for k in METRICS}
    ordered = [v for v in rows.values() if v["kind"] == "model"] + [v for v in rows.values() if v["kind"] == "vote"]
    task_name = runs[0].result.get("task") if runs else task
    return {"task": task_name, "columns": columns, "rows": ordered, "metrics": list(METRICS)}


def validation_predictions(ws, run_id: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per model and voting scheme of a stored round: (image ids, true class, predicted class) on validation,
    recomputed from the stored probabilities exactly as the round scored them."""
    from .voting import cross_fitted_weighted, decide, hard_vote, round_costs, soft_vote

    run = ws.store.get_run(run_id)
    if run is None or run.kind != "classify" or not run.result:
        raise ValueError(f"run {run_id}: not a finished classifier round")
    with np.load(ws.run_dir(run_id) / "validation.npz") as z:
        ids, y, probs, models = z["ids"], z["y"], z["probs"], [str(m) for m in z["models"]]
    costs = round_costs(run.result)
    out = {m: (ids, y, decide(p, costs)) for m, p in zip(models, probs, strict=True)}
    out["hard voting"] = (ids, y, hard_vote(probs, costs))
    out["soft voting"] = (ids, y, decide(soft_vote(probs), costs))
    seed = int(run.params.get("seed") or 0)
    out["weighted voting"] = (ids, y, decide(cross_fitted_weighted(probs, y, seed=seed), costs))
    return out


def confusion_cell(ws, run_id: int, panel: str, true_class: str, predicted_class: str) -> list[int]:
    """Image ids of one confusion-matrix cell of a stored round."""
    classes = ws.store.get_run(run_id).result["classes"]
    preds = validation_predictions(ws, run_id)
    if panel not in preds:
        raise ValueError(f"confusion: no model or vote named {panel!r} in run {run_id}")
    ids, y, pred = preds[panel]
    t, p = classes.index(str(true_class)), classes.index(str(predicted_class))
    return [int(i) for i in ids[(y == t) & (pred == p)]]


def learning_curve(store: Store, task: str) -> dict:
    """Accuracy and precision of every model and vote on the task's fixed validation set against the number of
    human labels the task had, one point per finished classifier run (oldest first), so a person can see
    whether labelling more still pays. Runs of every recipe and start are kept: each point says which."""
    runs = [r for r in store.list_runs(1000) if r.kind == "classify" and r.status == "done" and r.result]
    runs = sorted((r for r in runs if r.result.get("task") == task), key=lambda r: r.id)
    series: dict[str, dict] = {}
    for r in runs:
        res = r.result
        labelled = (res.get("sets") or {}).get("labelled")
        if labelled is None:  # rounds recorded before the count was kept
            continue
        entries = [(name, "model", m["metrics"]) for name, m in res["models"].items()]
        entries += [(f"{v} vote", "vote", res["voting"][v]) for v in VOTES if v in res.get("voting", {})]
        for name, kind, m in entries:
            s = series.setdefault(name, {"name": name, "kind": kind, "points": []})
            s["points"].append(
                {
                    "run_id": r.id,
                    "round": res["round"],
                    "recipe": (res.get("recipe") or {}).get("name", "paper"),
                    "labelled": int(labelled),
                    "accuracy": round(float(m["accuracy"]), 4),
                    "precision": round(float(m["precision"]), 4),
                }
            )
    ordered = [s for s in series.values() if s["kind"] == "model"] + [
        s for s in series.values() if s["kind"] == "vote"
    ]
    return {"task": task, "runs": len(runs), "series": ordered}
