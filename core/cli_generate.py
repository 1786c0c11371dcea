"""`scatterloop generate train|sample`: the domain model (default) and Stable Diffusion 1.5 + LoRA."""

from __future__ import annotations

import dataclasses
import secrets

from .cli_common import emit, recorded_run, settings_from


def cmd_generate(args) -> int:
    from .generate import generate_candidates, train_domain_model
    from .workspace import Workspace

    ws = Workspace.open(settings_from(args))
    if args.seed is None:  # a sample run again makes new frames, not copies of the last run's (recorded, reproducible)
        args.seed = 0 if args.action == "train" else secrets.randbelow(2**31)
    if args.backend == "sd-lora":
        return _generate_sd(args, ws)
    if args.action == "train":
        # the run's folder by name: `run_dir` would create it, and a --resume of -3 is refused by the limits below
        resume = None if args.resume is None else ws.root / "runs" / str(args.resume)
        params = {"preset": args.preset, "steps": args.steps, "resume": args.resume, "seed": args.seed}
        run_id, res = recorded_run(
            "generate train",
            args.quiet,
            ws.store,
            "generate-train",
            params,
            lambda run_id, progress, should_stop: train_domain_model(
                ws,
                args.preset,
                run_id=run_id,
                max_steps=args.steps,
                resume_from=resume,
                seed=args.seed,
                device=args.device,
                progress=progress,
                should_stop=should_stop,
            ),
        )
        out = {"command": "generate train", "run_id": run_id, **dataclasses.asdict(res)}
        emit(args, out, f"trained {res.steps} steps (from {res.resumed_from_step}); checkpoint {res.checkpoint}")
        return 0
    checkpoint = args.checkpoint or _latest_generator(ws)
    params = {
        "checkpoint": checkpoint,
        "n": args.n,
        "pattern": args.pattern,
        "prompt": args.prompt,
        "seed": args.seed,
        "steps": 25 if args.steps is None else args.steps,  # 0 is refused by the limits, not replaced
        "guidance": args.guidance,
        "sampler": args.sampler,
    }
    run_id, res = recorded_run(
        "generate sample",
        args.quiet,
        ws.store,
        "generate",
        params,
        lambda run_id, progress, should_stop: generate_candidates(
            ws,
            checkpoint,
            run_id=run_id,
            n=args.n,
            pattern=args.pattern,
            prompt=args.prompt,
            seed=args.seed,
            steps=25 if args.steps is None else args.steps,
            guidance=args.guidance,
            sampler=args.sampler,
            device=args.device,
            progress=progress,
            should_stop=should_stop,
        ),
    )
    emit(
        args,
        {"command": "generate sample", **dataclasses.asdict(res)},
        f"generated {len(res.image_ids)} candidates in run {run_id} (seed {res.seed}, {res.images_per_s} images/s)"
        + (
            f"; {res.duplicates} identical to images stored already (same checkpoint, prompt and seed), not added:"
            " use another --seed"
            if res.duplicates
            else ""
        ),
    )
    return 0


def _generate_sd(args, ws) -> int:
    """Stable Diffusion 1.5 + LoRA: train on an imagefolder export, or sample and register candidates."""
    import numpy as np

    from .generate.sample import register_frames
    from .generate.sd_lora import sample_lora, train_lora

    if not args.base:
        raise ValueError("--base: a local Stable Diffusion 1.5 folder is required for --backend sd-lora")
    if args.action == "train":
        if not args.data:
            raise ValueError("--data: an imagefolder with metadata.jsonl (scatterloop export) is required")
        params = {"backend": "sd-lora", "base": args.base, "data": args.data, "steps": args.steps, "rank": args.rank,
                  "seed": args.seed, "resolution": args.resolution}  # fmt: skip
        run_id, res = recorded_run(
            "sd-lora train",
            args.quiet,
            ws.store,
            "generate-train",
            params,
            lambda run_id, progress, should_stop: train_lora(
                args.base,
                args.data,
                ws.run_dir(run_id) / "lora",
                resolution=args.resolution,
                rank=args.rank,
                steps=1000 if args.steps is None else args.steps,
                seed=args.seed,
                device=args.device,
                progress=progress,
                should_stop=should_stop,
            ),
        )
        ws.store.add_artifact(
            "lora",
            ws.relative(ws.run_dir(run_id) / "lora"),
            run_id=run_id,
            meta={"base": args.base, "steps": res.steps},
        )
        emit(
            args,
            {"command": "generate train", "backend": "sd-lora", "run_id": run_id, **dataclasses.asdict(res)},
            f"LoRA trained {res.steps} steps into {res.out_dir}",
        )
        return 0
    text = args.prompt or args.pattern or ""
    steps = 25 if args.steps is None else args.steps
    known = ws.store.distinct("pattern")
    if args.pattern and args.pattern not in known:  # it would be stored as a new pattern
        raise ValueError(f"pattern {args.pattern[:40]!r}: this workspace's patterns are {', '.join(known) or 'none'}")

    def job(run_id, progress, should_stop):
        out_dir = ws.run_dir(run_id) / "generated"
        out_dir.mkdir(parents=True, exist_ok=True)
        ids_: list[int] = []

        def register(start, frames):  # each batch registered as it is made: a cancel keeps what was finished
            added, _ = register_frames(
                ws,
                run_id,
                out_dir,
                np.asarray(frames) * 2 - 1,
                [args.seed + start + k for k in range(len(frames))],
                text=text,
                pattern=args.pattern,
                round_no=ws.store.current_round(),
                tag=f"{start:06d}",
                provenance={
                    "backend": "sd-lora",
                    "checkpoint": f"{args.base} + {args.lora}",
                    "steps": steps,
                    "guidance": args.guidance,
                },
            )
            ids_.extend(added)

        sample_lora(
            args.base,
            args.lora,
            [text] * args.n,
            steps=steps,
            guidance=args.guidance,
            seed=args.seed,
            resolution=args.resolution,
            device=args.device,
            on_batch=register,
            progress=progress,
            should_stop=should_stop,
        )
        return ids_

    params = {"backend": "sd-lora", "n": args.n, "prompt": text, "steps": steps, "seed": args.seed,
              "guidance": args.guidance, "resolution": args.resolution}  # fmt: skip
    run_id, ids_ = recorded_run("sd-lora sample", args.quiet, ws.store, "generate", params, job)
    emit(
        args,
        {"command": "generate sample", "backend": "sd-lora", "run_id": run_id, "seed": args.seed, "image_ids": ids_},
        f"generated {len(ids_)} candidates in run {run_id} (seed {args.seed})",
    )
    return 0


def _latest_generator(ws) -> str:
    from .generate import latest_generator

    return latest_generator(ws.store, "run `scatterloop generate train`")
