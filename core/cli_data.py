"""The data commands: `simulate`, `import`, `export` and `embed`."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from .cli_common import RunCancelled, emit, recorded_run, settings_from, terminal_progress, typed


def cmd_simulate(args) -> int:
    from .api import simulate
    from .workspace import enclosing_workspace, is_workspace

    out = Path(args.out)
    inside = out.resolve() if is_workspace(out) else enclosing_workspace(out)
    if inside is not None:  # its frames and metadata.jsonl would sit among the workspace's own files
        raise ValueError(
            f"--out {args.out}: inside the workspace {inside}; simulate into a folder outside it, then import"
        )
    if args.pattern.startswith("speckle") and args.size is not None:  # never silently another size than asked
        raise ValueError(f"--size: a speckle frame is its k-grid ({args.grid} x {args.grid}); choose --grid instead")
    grid_typed = typed("--grid", getattr(args, "command_line", ()))
    if not args.pattern.startswith("speckle") and (args.grid != 257 or grid_typed):  # it would be ignored
        raise ValueError(f"--grid: the k-grid of a speckle frame, not of {args.pattern}; use --size instead")
    with terminal_progress(f"simulate {args.pattern}", not args.quiet) as progress:
        res = simulate(
            args.pattern,
            args.n,
            args.out,
            seed=args.seed,
            size=256 if args.size is None else args.size,
            artifacts=args.artifacts,
            grid=args.grid,
            domain=args.domain,
            progress=progress,
        )
    emit(
        args,
        {
            "command": "simulate",
            "pattern": args.pattern,
            "domain": args.domain,
            "n": len(res.files),
            "out": res.out,
            "artifacts": res.artifacts,
            "seconds": round(res.seconds, 3),
            "images_per_s": round(len(res.files) / max(res.seconds, 1e-9), 2),
        },
        f"wrote {len(res.files)} {args.pattern} frames to {res.out} ({res.artifacts})",
    )
    return 0


def cmd_import(args) -> int:
    from .api import import_files
    from .workspace import Workspace

    ws = Workspace.open(settings_from(args))
    with terminal_progress("import", not args.quiet) as progress:
        run = import_files(
            ws,
            args.paths,
            source=args.source,
            metadata=args.metadata,
            dataset=args.dataset,
            follow_outside=args.follow_outside,
            progress=progress,
        )
    run_id, summary = run.run_id, run.result
    if summary is None:  # cancelled (Jobs tab, another shell): the frames imported so far are kept
        raise RunCancelled(run_id)
    for line in [*summary.errors, *summary.warnings]:
        print(line, file=sys.stderr)
    files = [dataclasses.asdict(f) for f in summary.files]
    emit(
        args,
        {
            "command": "import",
            "run_id": run_id,
            "imported": summary.imported,
            "duplicates": summary.duplicates,
            "failed": summary.failed,
            "repaired": summary.repaired,
            "labelled_known": summary.labelled_known,
            "patterned_known": summary.patterned_known,
            "warnings": summary.warnings,
            "files": files,
            "seconds": round(summary.seconds, 3),
        },
        f"imported {summary.imported} frames, {summary.duplicates} duplicates, {summary.failed} files failed",
    )
    return 0 if summary.failed == 0 else 2


def cmd_export(args) -> int:
    from .export import export_imagefolder
    from .workspace import Workspace

    ws = Workspace.open(settings_from(args))
    ws.check_output(args.out)  # refused before a run is recorded
    run_id, res = recorded_run(
        "export",
        args.quiet,
        ws.store,
        "export",
        {"out": str(args.out), "round": args.round},
        lambda run_id, progress, should_stop: export_imagefolder(
            ws, args.out, round=args.round, progress=progress, should_stop=should_stop
        ),
    )
    emit(
        args,
        {"command": "export", "run_id": run_id, **dataclasses.asdict(res)},
        f"exported {res.images} images to {res.out}; labels in {res.labels_csv}",
    )
    return 0


def _finished(run_id, result) -> None:
    """A run's result, or the one line of a run cancelled meanwhile (a cached map is no run: `run_id` None)."""
    if result is None:
        raise RunCancelled(run_id)


def cmd_embed(args) -> int:
    from .embed import MapParams
    from .embed.jobs import run_build, run_place, run_symmetry
    from .workspace import Workspace

    if args.place:  # placing adds images to the latest map as it is: a new map's settings would be ignored
        raw = getattr(args, "command_line", ())  # `--method umap` beside --place is as ignored as `--method pca`
        building = [
            flag
            for dest, (flag, default) in args.map_options.items()
            if getattr(args, dest) != default or typed(flag, raw)
        ]
        if building:
            raise ValueError(
                f"--place: adds new images to the latest map as it is; {', '.join(building)} "
                f"{'builds' if len(building) == 1 else 'build'} a new map: give one or the other"
            )
    ws = Workspace.open(settings_from(args))
    out: dict = {"command": "embed"}
    with terminal_progress("embed", not args.quiet) as progress:
        if args.place:
            run_id, res = run_place(ws, progress=progress)
            _finished(run_id, res)
            out.update(run_id=run_id, **dataclasses.asdict(res))
        else:
            params = MapParams(
                size=args.size, epochs=args.epochs, method=args.method, seed=args.seed, features=args.features
            )
            run_id, res = run_build(ws, params, force=args.relayout, progress=progress)
            _finished(run_id, res)
            out.update(**dataclasses.asdict(res))
    if args.symmetry:
        with terminal_progress("symmetry", not args.quiet) as progress:
            run_id, sym = run_symmetry(ws, progress=progress)
        _finished(run_id, sym)
        out["symmetry"] = dataclasses.asdict(sym)
    emit(args, out, json.dumps({k: v for k, v in out.items() if k != "losses"}, default=str))
    return 0
