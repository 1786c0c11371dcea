"""Training and validation sets of a round, built the paper's way.

Realism task: the realistic class is the approved (realistic-labelled) generated images topped up with
experimental frames to a 4:6 experimental:generated mix, then balanced against the fake class by seeded
subsampling of the larger side (the mix is kept when the realistic side is cut). The validation set is
chosen once per task (seeded, stratified) and stored in the workspace; a fifth of the images labelled in
later rounds join it and none ever leaves it, so its images never enter a training set. Other tasks
(patterns, any human label set such as speckle disk counts) use the same rule without the hybrid mix.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..store import SOURCES, ImageFilter, Store

Task = Literal["realism", "pattern", "labels"]
TASKS: tuple[str, ...] = ("realism", "pattern", "labels")
REALISTIC, FAKE = "realistic", "fake"
PATTERN_SOURCES: tuple[str, ...] = ("experimental",)  # the pattern task's default: what the paper classified


@dataclass
class Split:
    task: str
    classes: list[str]
    train_ids: list[int]
    train_y: np.ndarray
    val_ids: list[int]
    val_y: np.ndarray
    summary: dict = field(default_factory=dict)

    @property
    def positive(self) -> str | None:
        return REALISTIC if self.task == "realism" else None


def _stratified_pick(ids: list[int], labels: list[str], fraction: float, rng: np.random.Generator) -> list[int]:
    """About `fraction` of each class (at least one of every class that has two or more)."""
    picked: list[int] = []
    for c in sorted(set(labels)):
        members = [i for i, lab in zip(ids, labels, strict=True) if lab == c]
        k = int(round(fraction * len(members)))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        else:
            k = 0
        picked += [int(i) for i in rng.choice(members, size=k, replace=False)] if k else []
    return sorted(picked)


def _examples(
    store: Store, task: str, pattern: str | None, sources: tuple[str, ...] = PATTERN_SOURCES
) -> tuple[dict[int, str], list[int]]:
    """(labelled items id → class, experimental ids) for the task. The pattern task's classes are the images'
    recorded patterns (import metadata), taken from the chosen sources only."""
    images = [img for img, _ in store.list_images()]
    if pattern:
        images = [img for img in images if img.pattern == pattern]
    if task == "pattern":
        return {img.id: img.pattern for img in images if img.source in sources and img.pattern}, []
    labels = store.current_labels([img.id for img in images]) if images else {}
    if task == "labels":
        return {i: s.label for i, s in labels.items() if s.label}, []
    generated = {img.id for img in images if img.source == "generated"}  # simulated frames: the pattern task's
    labelled = {i: s.label for i, s in labels.items() if i in generated and s.label in (REALISTIC, FAKE)}
    return labelled, sorted(img.id for img in images if img.source == "experimental")


def _class_counts(store: Store, task: str, sources: tuple[str, ...]) -> str:
    """Why a task found too few classes: what was searched and how many images each class had, per source."""
    if task != "pattern":
        counts: dict[str, int] = {}
        for state in store.current_labels().values():
            if state.label:
                counts[state.label] = counts.get(state.label, 0) + 1
        shown = ", ".join(f"{c}: {n}" for c, n in sorted(counts.items())) or "none"
        return f"searched the current human labels ({shown})"
    parts = []
    for src in store.distinct("source") or list(sources):
        imgs = [img for img, _ in store.list_images(ImageFilter(source=src))]
        counts = {}
        for img in imgs:
            if img.pattern:
                counts[img.pattern] = counts.get(img.pattern, 0) + 1
        shown = ", ".join(f"{c}: {n}" for c, n in sorted(counts.items())) or "no pattern recorded"
        used = "searched" if src in sources else "not searched"
        parts.append(f"{src} ({used}, {len(imgs)} images; {shown})")
    if not parts:
        return f"searched sources {', '.join(sources)}: the workspace holds no images"
    return "pattern comes from import metadata; sources: " + "; ".join(parts)


def _found(labelled: dict[int, str], experimental: list[int]) -> str:
    """The realism task's labelled generated images by class, and the experimental frames that count as realistic."""
    counts = Counter(labelled.values())
    n = {c: counts[c] for c in (REALISTIC, FAKE)}
    return (
        f"found {n[REALISTIC]} realistic and {n[FAKE]} fake among labelled generated images "
        f"({len(experimental)} experimental frames count as realistic beside them)"
    )


def _coin(image_id: int, seed: int) -> float:
    return float(np.random.default_rng([seed, 31, int(image_id)]).random())


def _held_out(image_id: int, seed: int, fraction: float) -> bool:
    """A stable coin for an image labelled after the first round: the same answer in every later round."""
    return _coin(image_id, seed) < fraction


def fixed_validation(
    store: Store,
    task: str,
    labelled: dict[int, str],
    experimental: list[int],
    *,
    pattern: str | None = None,
    sources: tuple[str, ...] | None = None,
    fraction: float = 0.2,
    ratio: tuple[int, int] = (4, 6),
    seed: int = 0,
) -> list[int]:
    """The task's validation ids: chosen on first use (stratified), then kept in every later round.

    Images labelled after the first round join it with probability `fraction` (a per-image coin that never
    changes), so the validation set grows with the labels — calibration and early stopping need more than
    the handful of images a first round has — while no image ever moves between training and validation.
    """
    key = f"classify.validation.{task}.{pattern or 'all'}" + (f".{'+'.join(sources)}" if sources else "")
    stored = store.get_meta(key)
    if stored is not None:
        val = [int(i) for i in stored["ids"]]
        seen = set(int(i) for i in stored.get("seen", val))
        new = [i for i in sorted(labelled) if i not in seen]
        if new:
            val += [i for i in new if _held_out(i, seed, fraction)]
            # a class that has no validation image yet (a pattern imported after the first round, a label given
            # since) gets its new image with the lowest coin: it has never trained, so nothing moves between sets
            held = {labelled[i] for i in val if i in labelled}
            for c in sorted({labelled[i] for i in new} - held):
                members = [i for i in labelled if labelled[i] == c]
                fresh = [i for i in new if labelled[i] == c and i not in val]
                if len(members) >= 2 and fresh:
                    val.append(min(fresh, key=lambda i: _coin(i, seed)))
            # and one to train on, where every image of a class went to validation (its first two won the coin)
            kept = set(val)
            for c in sorted({labelled[i] for i in new}):
                members = [i for i in labelled if labelled[i] == c]
                drawn = [i for i in new if labelled[i] == c and i in kept]
                if len(members) >= 2 and all(i in kept for i in members) and drawn:
                    val.remove(max(drawn, key=lambda i: _coin(i, seed)))
            store.set_meta(key, {**stored, "ids": val, "seen": sorted(seen | set(new))})
        return val
    rng = np.random.default_rng([seed, 17])
    ids = sorted(labelled)
    val = _stratified_pick(ids, [labelled[i] for i in ids], fraction, rng)
    if task == "realism":
        real_val = sum(1 for i in val if labelled[i] == REALISTIC)
        n_exp = min(len(experimental), int(round(real_val * ratio[0] / ratio[1])))
        val += sorted(int(i) for i in rng.choice(experimental, size=n_exp, replace=False)) if n_exp else []
    store.set_meta(key, {"ids": val, "seed": seed, "fraction": fraction, "seen": ids})
    return val


def assemble(
    store: Store,
    task: Task = "realism",
    *,
    pattern: str | None = None,
    sources: tuple[str, ...] = PATTERN_SOURCES,
    val_fraction: float = 0.2,
    ratio: tuple[int, int] = (4, 6),
    seed: int = 0,
) -> Split:
    """The round's training set from the current human labels, and the task's fixed validation set.

    Args:
        sources: pattern task only: which image sources (experimental, simulated, generated) to learn from.
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {task!r}")
    sources = tuple(sorted(set(sources)))
    unknown = set(sources) - set(SOURCES)
    if not sources or unknown:
        raise ValueError(f"sources: expected some of {', '.join(SOURCES)}, got {', '.join(sources) or 'none'}")
    labelled, experimental = _examples(store, task, pattern, sources)
    if task == "realism" and not {REALISTIC, FAKE} <= set(labelled.values()):
        raise ValueError(
            "realism task: label at least two generated images realistic and two fake first; "
            + _found(labelled, experimental)
        )
    found = sorted(set(labelled.values()))
    if len(found) < 2:
        where = f" of pattern {pattern!r}" if pattern else ""
        raise ValueError(
            f"{task} task: at least two classes are needed, found {found} among images{where}; "
            f"{_class_counts(store, task, sources)}"
            + (
                " (choose more sources: --sources simulated,experimental on the command line, 'learn from' in the "
                "Train tab)"
                if task == "pattern"
                else ""
            )
        )
    # one image of a class can train or validate, not both: its scores and calibration would mean nothing
    counts = Counter(labelled.values())
    few = sorted((c for c in found if counts[c] < 2), key=_natural)
    if few and task == "realism":
        raise ValueError(
            f"realism task: each class needs two or more labelled images (one is kept for validation), "
            f"{', '.join(map(repr, few))} {'has' if len(few) == 1 else 'have'} one; " + _found(labelled, experimental)
        )
    if few:  # a pattern (import metadata) or a label given once: the round learns the others and says so
        labelled = {i: c for i, c in labelled.items() if c not in few}
        if len(found) - len(few) < 2:
            raise ValueError(
                f"{task} task: at least two classes of two or more images are needed; "
                f"{', '.join(map(repr, few))} {'has' if len(few) == 1 else 'have'} one; "
                f"{_class_counts(store, task, sources)}"
            )
    key_sources = None if task != "pattern" or sources == PATTERN_SOURCES else sources
    val = fixed_validation(
        store,
        task,
        labelled,
        experimental,
        pattern=pattern,
        sources=key_sources,
        fraction=val_fraction,
        ratio=ratio,
        seed=seed,
    )
    held = set(val)
    rng = np.random.default_rng([seed, 29])
    summary: dict = {"task": task, "pattern": pattern, "labelled": len(labelled)}
    if few:
        summary["left_out"] = few  # classes of one image: not in this round (`train_round` says so)
    if task == "pattern":
        summary["sources"] = list(sources)
    if task == "realism":
        classes = [FAKE, REALISTIC]
        gen_real = [i for i, c in sorted(labelled.items()) if c == REALISTIC and i not in held]
        fake = [i for i, c in sorted(labelled.items()) if c == FAKE and i not in held]
        pool = [i for i in experimental if i not in held]
        n_exp = min(len(pool), int(round(len(gen_real) * ratio[0] / ratio[1])))
        exp = [int(i) for i in rng.choice(pool, size=n_exp, replace=False)] if n_exp else []
        n_real = len(gen_real) + len(exp)
        if n_real > len(fake) > 0:  # cut the realistic side, keeping its mix
            keep_gen = max(1, int(round(len(fake) * len(gen_real) / n_real)))
            gen_real = [int(i) for i in rng.choice(gen_real, size=keep_gen, replace=False)]
            exp = [int(i) for i in rng.choice(exp, size=max(0, len(fake) - keep_gen), replace=False)] if exp else []
        elif len(fake) > n_real:
            fake = [int(i) for i in rng.choice(fake, size=n_real, replace=False)]
        train = {i: REALISTIC for i in gen_real + exp} | {i: FAKE for i in fake}
        exp_set = set(experimental)
        val_labels = {i: labelled.get(i, REALISTIC) for i in val if i in labelled or i in exp_set}
        summary.update(
            generated_realistic=len(gen_real),
            experimental=len(exp),
            fake=len(fake),
            experimental_share=round(len(exp) / max(1, len(exp) + len(gen_real)), 3),
            ratio=f"{ratio[0]}:{ratio[1]}",
        )
    else:
        classes = sorted(set(labelled.values()), key=_natural)
        train = {i: c for i, c in labelled.items() if i not in held}
        val_labels = {i: labelled[i] for i in val if i in labelled}
    order = sorted(train)
    vorder = [i for i in sorted(val_labels) if val_labels[i] in classes]
    for part, members in (("validation", {val_labels[i] for i in vorder}), ("training", set(train.values()))):
        if missing := [c for c in classes if c not in members]:  # labels changed since the set was chosen
            more = "import more frames of that pattern" if task == "pattern" else "label more of them"
            raise ValueError(
                f"{task} task: the {part} set holds no {', '.join(map(repr, missing))} image (each image keeps the "
                f"set it was first given, and labels changed since can leave a class out of one): {more}"
            )
    summary.update(train=len(order), validation=len(vorder))
    return Split(
        task=task,
        classes=classes,
        train_ids=order,
        train_y=np.array([classes.index(train[i]) for i in order], dtype=np.int64),
        val_ids=vorder,
        val_y=np.array([classes.index(val_labels[i]) for i in vorder], dtype=np.int64),
        summary=summary,
    )


def _natural(c: str):
    """Disk counts sort as numbers ("2" < "10"), other labels alphabetically."""
    return (0, int(c), "") if c.isdigit() else (1, 0, c)
