"""`scatterloop classify train|predict|prelabel|queue|table|pretrain`: classifier rounds from the terminal."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging

from .cli_common import emit, record_number, recorded_run, settings_from


def _pretrained(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        arch, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"--pretrained: expected ARCH=PATH, got {item!r}")
        out[arch] = path
    return out


def cmd_classify(args) -> int:
    from .classify import RoundParams, predict_candidates, prelabel, review_queue, train_round
    from .classify.domain import outside_note
    from .classify.predict import predict_images
    from .classify.rounds import preflight, round_params_json
    from .classify.select import select_images
    from .classify.tables import metrics_table
    from .job_limits import check_params
    from .workspace import Workspace

    ws = Workspace.open(settings_from(args))
    try:
        if args.action == "pretrain":
            _pretrain(args, ws)
        elif args.action == "train":
            params = RoundParams(
                task=args.task or "realism",
                recipe=args.recipe,
                models=tuple(args.models.split(",")) if args.models else None,
                epochs=args.epochs,
                lr=args.lr,
                batch_size=args.batch_size,
                input_size=args.input_size,
                init=args.init,
                pretrained=_pretrained(args.pretrained),
                pattern=args.pattern,
                sources=_sources(args.sources),
                device=args.device,
                seed=args.seed,
                encoder=args.encoder,
                positive_cost=args.positive_cost,
            )
            check_params(
                "classify", round_params_json(params), time_caps=False
            )  # refused before --next-round opens a round
            if args.next_round:  # only for a round that will train: a refused one leaves no empty round
                preflight(ws, params, ws.store.current_round() + 1)
                ws.store.next_round()
            run_id, res = recorded_run(
                "classify train",
                args.quiet,
                ws.store,
                "classify",
                round_params_json(params),
                lambda run_id, progress, should_stop: train_round(
                    ws, params, run_id=run_id, progress=progress, should_stop=should_stop
                ),
            )
            out = {"command": "classify train", "run_id": run_id, **dataclasses.asdict(res)}
            out["sets"] = {k: v for k, v in out["sets"].items() if not k.endswith("_ids")}
            lines = [f"round {res.round} ({res.init}), run {run_id}: {res.sets['train']} training images"]
            if (res.decision or {}).get("threshold") not in (None, 0.5):
                d = res.decision
                lines.append(
                    f"  calls {d['positive']!r} above P = {d['threshold']:g} (a false {d['positive']!r} call costs "
                    f"{d['costs'][d['positive']]:g} missed ones)"
                )
            for name, m in [*res.models.items(), *((f"vote:{k}", {"metrics": v}) for k, v in res.voting.items())]:
                s = m["metrics"]
                lines.append(
                    f"  {name:14s} acc {s['accuracy']:.3f}  prec {s['precision']:.3f}  "
                    f"rec {s['recall']:.3f}  f1 {s['f1']:.3f}"
                )
            if res.doubted:
                lines.append(
                    f"  {len(res.doubted)} labels the models doubt (ids "
                    f"{', '.join(str(d['id']) for d in res.doubted[:10])}{', ...' if len(res.doubted) > 10 else ''}), "
                    "left out of the saved models' final fit: check them with `classify queue --queue doubted`"
                )
            lines += [f"  note: {w}" for w in res.warnings]
            emit(args, out, "\n".join(lines))
        elif args.action == "predict":
            if args.device:  # refused before a run is recorded, as `train` refuses it
                from .embed.autoencoder import pick_device

                pick_device(args.device)
            run = args.run or _latest_classify(ws)
            sel = _selection(args)
            if sel is None:
                params = {"classify_run": run, "scheme": args.scheme}

                def work(run_id, progress, should_stop):
                    return predict_candidates(
                        ws, run, run_id=run_id, scheme=args.scheme, device=args.device, progress=progress,
                        should_stop=should_stop,
                    )  # fmt: skip
            else:
                chosen = select_images(ws.store, sel)
                if not chosen:
                    raise ValueError(f"no images match {sel.describe()}")
                params = {"classify_run": run, "scheme": args.scheme, "images": sel.describe(), "count": len(chosen)}

                def work(run_id, progress, should_stop):
                    return predict_images(
                        ws, run, chosen, run_id=run_id, scheme=args.scheme, selection=sel.describe(),
                        device=args.device, progress=progress, should_stop=should_stop,
                    )  # fmt: skip

            run_id, res = recorded_run("classify predict", args.quiet, ws.store, "predict", params, work)
            out = {"command": "classify predict", "run_id": run_id, **dataclasses.asdict(res)}
            emit(
                args,
                out,
                f"predicted {res.images} images ({res.selection}) with {len(res.models)} models: {res.suggested}",
            )
            task = ws.store.get_run(run).result.get("task")
            if note := outside_note(res.outside_domain, res.images, task, res.models):
                logging.getLogger("scatterloop.classify").warning(note)
        elif args.action == "prelabel":
            if not (args.annotator or "").strip():  # accepted suggestions become labels in a person's name
                raise ValueError("--annotator NAME: whose labels the accepted suggestions become")
            counts = prelabel(
                ws.store, threshold=args.threshold, annotator=args.annotator, scheme=args.scheme, task=args.task
            )
            emit(args, {"command": "classify prelabel", **counts}, json.dumps(counts))
        elif args.action == "queue":
            if args.queue == "doubted" and args.scheme != "weighted":  # would be ignored without a word
                raise ValueError("--scheme: the doubted queue reads the round's doubts, not a vote; leave it out")
            queue = review_queue(ws.store, args.queue, scheme=args.scheme, task=args.task)
            emit(
                args, {"command": "classify queue", "queue": args.queue, "image_ids": queue}, " ".join(map(str, queue))
            )
        else:
            table = metrics_table(ws.store, args.task)  # no --task: the latest round's task
            emit(args, {"command": "classify table", **table}, json.dumps(table, indent=1))
    finally:
        ws.store.dispose()
    return 0


def _pretrain(args, ws) -> None:
    """Self-supervised pretraining of an encoder on every frame of the workspace, as a recorded run."""
    from .classify.pretrain import PretrainParams, pretrain

    defaults = PretrainParams()
    params = PretrainParams(
        arch=args.arch,
        input_size=defaults.input_size if args.input_size is None else args.input_size,  # 0 is refused, not
        epochs=defaults.epochs if args.epochs is None else args.epochs,  # read as "the default"
        batch_size=defaults.batch_size if args.batch_size is None else args.batch_size,
        lr=defaults.lr if args.lr is None else args.lr,
        max_images=args.max_images,
        device=args.device,
        seed=args.seed,
    )
    run_id, res = recorded_run(
        "classify pretrain",
        args.quiet,
        ws.store,
        "pretrain",
        dataclasses.asdict(params),
        lambda run_id, progress, should_stop: pretrain(ws, run_id, params, progress=progress, should_stop=should_stop),
    )
    last = res.history[-1]
    emit(
        args,
        {"command": "classify pretrain", **dataclasses.asdict(res)},
        f"encoder {res.encoder} ({res.arch}, {res.images} frames, {len(res.history)} epochs): "
        f"loss {last['loss']:.3f}, own view found first {last['contrast_acc']:.2f}, {res.seconds:.0f} s",
    )


def _sources(text: str | None) -> tuple[str, ...]:
    from .classify.data import PATTERN_SOURCES

    return tuple(s.strip() for s in text.split(",") if s.strip()) if text else PATTERN_SOURCES


def _selection(args):
    """The images `classify predict` was asked to score, or None for the default (unlabeled candidates)."""
    from .classify.select import ImageSelection, parse_selection

    items = list(args.images or [])
    everything = items == ["all"]
    sel = parse_selection(
        [] if everything else items, pattern=args.pattern, round=args.round, ids=args.ids, folder=args.folder
    )
    if everything and sel.is_empty():
        return ImageSelection()
    return None if sel.is_empty() else sel


def _latest_classify(ws) -> int:
    runs = [r for r in ws.store.list_runs(500) if r.kind == "classify" and r.status == "done"]
    if not runs:
        raise ValueError(f"{ws.root}: no finished classifier round (scatterloop classify train first)")
    return runs[0].id


def add_parser(sub, common) -> None:
    from .cli_names import MODELS, RECIPES, SOURCES, TASKS

    p = sub.add_parser(
        "classify", parents=[common], help="classifier rounds: pretrain, train, predict, pre-label, review"
    )
    p.add_argument("action", choices=("train", "predict", "prelabel", "queue", "table", "pretrain"))
    p.add_argument("--workspace", required=True)
    p.add_argument(
        "--task",
        default=None,
        choices=TASKS,
        help="train: realism unless given; table: the latest round's; prelabel / queue: whose calls (realism or "
        "labels; default: the latest round's of the two)",
    )
    p.add_argument(
        "--recipe",
        default=None,
        choices=RECIPES,
        help="training recipe: ours (the calibrated physics models), gpu (ours + ResNet-18 at 128 px), paper, or "
        "pattern (a small ResNet at 96 px, 40 epochs; the default for --task pattern; ours for every other task)",
    )
    p.add_argument("--models", default=None, help=f"comma-separated, from: {','.join(MODELS)} (default: recipe's)")
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--input-size", "--size", type=int, default=None, help="default: the recipe's (pretrain: 128)")
    p.add_argument("--init", default="scratch", choices=("scratch", "finetune"))
    p.add_argument(
        "--encoder",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train: start networks from the workspace's latest pretrained encoder (default: as the recipe says)",
    )
    p.add_argument(
        "--positive-cost",
        type=float,
        default=None,
        help="train: a false 'realistic' call costs this many missed realistic images; the models and votes call "
        "realistic above P = c / (1 + c) (default: the recipe's, 1: the arg-max; 3, above 0.75, puts precision first)",
    )
    p.add_argument(
        "--arch", default="resnet18", help="pretrain: the encoder's architecture (a timm model of --models)"
    )
    p.add_argument("--max-images", type=int, default=None, help="pretrain: at most this many frames (default: all)")
    p.add_argument("--pretrained", nargs="*", help="ARCH=PATH local ImageNet weights (file or folder)")
    p.add_argument("--pattern", default=None, help="train / predict: only images of this pattern")
    p.add_argument(
        "--sources",
        default=None,
        help="train --task pattern: comma-separated image sources to learn from, of "
        f"{','.join(SOURCES)} (default: experimental); the pattern comes from import metadata",
    )
    p.add_argument(
        "--images",
        nargs="+",
        metavar="KEY=VALUE",
        help="predict these images instead of the unlabeled candidates: source=experimental, pattern=P, round=R, "
        "ids=1,2,3, folder=PATH (all must match), or 'all'; human labels are never overwritten",
    )
    p.add_argument("--ids", default=None, help="predict: comma-separated image ids")
    p.add_argument("--folder", default=None, help="predict: images imported from files under this folder")
    p.add_argument("--round", type=record_number, default=None, help="predict: candidates that entered in this round")
    p.add_argument("--next-round", action="store_true", help="train: open the next round first")
    p.add_argument("--run", type=record_number, default=None, help="predict: the classify run (default: the latest)")
    p.add_argument("--scheme", default="weighted", choices=("hard", "soft", "weighted"))
    p.add_argument("--threshold", type=float, default=0.9, help="prelabel: minimum ensemble confidence")
    p.add_argument("--annotator", default=None, help="prelabel (required): who accepts the suggestions")
    p.add_argument(
        "--queue",
        default="uncertain",
        choices=("uncertain", "disagree", "doubted"),
        help="queue: least confident unlabeled first, labels the ensemble contradicts, or labels the latest round "
        "doubted out of sample (a person's likely slips)",
    )
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_classify, only_for=ONLY_FOR)


_TRAIN, _PREDICT = ("train",), ("predict",)
# which actions each option is for: given to another action, it is refused, not ignored (`table --run 7`)
ONLY_FOR = (
    ("action", {
        "task": ("train", "table", "prelabel", "queue"), "recipe": _TRAIN, "models": _TRAIN,
        "lr": ("train", "pretrain"),
        "epochs": ("train", "pretrain"), "batch_size": ("train", "pretrain"), "input_size": ("train", "pretrain"),
        "init": _TRAIN, "encoder": _TRAIN, "positive_cost": _TRAIN, "pretrained": _TRAIN, "sources": _TRAIN,
        "next_round": _TRAIN, "arch": ("pretrain",), "max_images": ("pretrain",), "pattern": ("train", "predict"),
        "images": _PREDICT, "ids": _PREDICT, "folder": _PREDICT, "round": _PREDICT, "run": _PREDICT,
        "scheme": ("predict", "prelabel", "queue"), "threshold": ("prelabel",), "annotator": ("prelabel",),
        "queue": ("queue",), "device": ("train", "predict", "pretrain"), "seed": ("train", "pretrain"),
    }),
)  # fmt: skip
