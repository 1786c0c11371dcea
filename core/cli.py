"""The `scatterloop` command (a contract: see DESIGN.md). With `--json`, the last stdout line is one JSON object.

Errors go to stderr as one line per problem and the exit code is non-zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from .config import Settings

log = logging.getLogger("scatterloop")


@contextmanager
def terminal_progress(desc: str, enabled: bool = True):
    """A tqdm bar on stderr fed by a `progress(done, total, message)` callback; it appears on the first
    report, so a command that fails while checking its input prints only its error line."""
    from tqdm import tqdm

    bars = []

    def progress(done: int, total: int, message: str = "") -> None:
        if not enabled:
            return
        if not bars:
            bars.append(tqdm(desc=desc, total=total, file=sys.stderr, dynamic_ncols=True, mininterval=0.5))
        bar = bars[0]
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:60], refresh=False)
        bar.refresh()

    try:
        yield progress
    finally:
        for bar in bars:
            bar.close()


def recorded_run(desc: str, quiet: bool, store, kind: str, params: dict, work):
    """Run `work(run_id=, progress=, should_stop=)` as a recorded run with a terminal progress bar."""
    from .jobs import run_job

    with terminal_progress(desc, not quiet) as progress:
        return run_job(store, kind, params, work, progress=progress)


def _settings(args) -> Settings:
    return Settings.from_env(
        workspace=getattr(args, "workspace", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        max_pixels=getattr(args, "max_pixels", None),
        login=getattr(args, "login", None),
    )


def _emit(args, payload: dict, human: str) -> None:
    if args.json:
        print(json.dumps(payload, default=str))
    else:
        print(human)


# ------------------------------------------------------------------------------------------ commands
def cmd_simulate(args) -> int:
    from .simulate import simulate_dataset

    with terminal_progress(f"simulate {args.pattern}", not args.quiet) as progress:
        res = simulate_dataset(
            args.pattern,
            args.n,
            args.out,
            seed=args.seed,
            size=args.size,
            artifacts=args.artifacts,
            grid=args.grid,
            domain=args.domain,
            progress=progress,
        )
    _emit(
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
    from .ingest import import_paths
    from .workspace import Workspace

    ws = Workspace.open(_settings(args))
    params = {"paths": [str(p) for p in args.paths], "source": args.source, "metadata": args.metadata}
    run_id, summary = recorded_run(
        "import",
        args.quiet,
        ws.store,
        "import",
        params,
        lambda run_id, progress, should_stop: import_paths(
            ws,
            args.paths,
            source=args.source,
            metadata=args.metadata,
            dataset=args.dataset,
            follow_outside=args.follow_outside,
            run_id=run_id,
            round=(ws.store.current_round() if args.source == "generated" else None),
            progress=progress,
            should_stop=should_stop,
        ),
    )
    for line in summary.errors:
        print(line, file=sys.stderr)
    files = [dataclasses.asdict(f) for f in summary.files]
    _emit(
        args,
        {
            "command": "import",
            "run_id": run_id,
            "imported": summary.imported,
            "duplicates": summary.duplicates,
            "failed": summary.failed,
            "repaired": summary.repaired,
            "files": files,
            "seconds": round(summary.seconds, 3),
        },
        f"imported {summary.imported} frames, {summary.duplicates} duplicates, {summary.failed} files failed",
    )
    return 0 if summary.failed == 0 else 2


def cmd_export(args) -> int:
    from .export import export_imagefolder
    from .workspace import Workspace

    ws = Workspace.open(_settings(args))
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
    _emit(
        args,
        {"command": "export", "run_id": run_id, **dataclasses.asdict(res)},
        f"exported {res.images} images to {res.out}; labels in {res.labels_csv}",
    )
    return 0


def build_demo_workspace(settings: Settings, quiet: bool = False, size: int = 256, n: int = 100) -> dict:
    from .demo import build_demo
    from .workspace import Workspace

    ws = Workspace.open(settings)
    if ws.store.count_images() > 0:
        log.info("%s already holds %d images; not rebuilding", ws.root, ws.store.count_images())
        return {"workspace": str(ws.root), "images": ws.store.count_images(), "built": False}
    run_id, res = recorded_run(
        "demo workspace",
        quiet,
        ws.store,
        "demo",
        {"size": size, "n_per_pattern": n},
        lambda run_id, progress, should_stop: build_demo(
            ws,
            run_id=run_id,
            size=size,
            n_per_pattern=n,
            candidates_per_pattern=n,
            progress=progress,
            should_stop=should_stop,
        ),
    )
    return {
        "workspace": str(ws.root),
        "run_id": run_id,
        "built": True,
        **dataclasses.asdict(res),
        "images": ws.store.count_images(),
    }


def cmd_demo(args) -> int:
    settings = _settings(args)
    if not args.no_serve:  # refuse a bad bind address before spending minutes on the workspace
        _check_serve(args, settings)
    info = build_demo_workspace(settings, quiet=args.quiet, size=args.size, n=args.n)
    if args.no_serve:
        _emit(args, {"command": "demo", **info}, f"demo workspace ready at {info['workspace']}")
        return 0
    return _serve(settings, debug=args.debug)


def cmd_serve(args) -> int:
    settings = _settings(args)
    _check_serve(args, settings)
    return _serve(settings, debug=args.debug)


def _check_serve(args, settings: Settings) -> None:
    from .server import check_bind, check_login, server_kind

    check_bind(settings.host, insecure=args.insecure, login_configured=settings.login != "none")
    check_login(settings)
    server_kind(args.debug)


def load_dashboard(settings: Settings):
    """The dashboard's WSGI app, built where it will serve (inside gunicorn's worker, after its fork)."""
    from scatterloop.dashboard.app import create_app

    from .threads import limit_server_threads

    limit_server_threads()  # the server's own small work on one OpenMP thread (see core.threads)
    app = create_app(settings)
    app.server.config["SCATTERLOOP_SERVICES"].runner.warm()  # job processes start now, not at the first job
    return app.server


def _serve(settings: Settings, debug: bool = False) -> int:
    import functools

    from .server import run_server, server_kind

    kind = server_kind(debug)
    log.info("serving %s on http://%s:%d with %s", settings.workspace, settings.host, settings.port, kind)
    print(
        f"scatterloop: http://{settings.host}:{settings.port}/  (workspace {settings.workspace}, {kind})",
        file=sys.stderr,
    )
    run_server(functools.partial(load_dashboard, settings), settings, kind)
    return 0


def cmd_embed(args) -> int:
    from .embed import MapParams
    from .embed.jobs import run_build, run_place, run_symmetry
    from .workspace import Workspace

    ws = Workspace.open(_settings(args))
    out: dict = {"command": "embed"}
    with terminal_progress("embed", not args.quiet) as progress:
        if args.place:
            run_id, res = run_place(ws, progress=progress)
            out.update(run_id=run_id, **dataclasses.asdict(res))
        else:
            params = MapParams(
                size=args.size, epochs=args.epochs, method=args.method, seed=args.seed, features=args.features
            )
            _, res = run_build(ws, params, force=args.relayout, progress=progress)
            out.update(**dataclasses.asdict(res))
    if args.symmetry:
        with terminal_progress("symmetry", not args.quiet) as progress:
            _, sym = run_symmetry(ws, progress=progress)
        out["symmetry"] = dataclasses.asdict(sym)
    _emit(args, out, json.dumps({k: v for k, v in out.items() if k != "losses"}, default=str))
    return 0


def cmd_generate(args) -> int:
    from .cli_generate import cmd_generate as run

    return run(args)


# ------------------------------------------------------------------------------------------ parser
def _add_server_flags(p) -> None:
    p.add_argument("--debug", action="store_true", help="Flask's development server with the debugger (never shared)")
    insecure = "allow a non-loopback --host although there is no login (anyone who reaches it can label)"
    p.add_argument("--insecure", action="store_true", help=insecure)
    from .cli_users import add_login_flag

    add_login_flag(p)


def build_parser() -> argparse.ArgumentParser:
    from .cli_names import SIM_PATTERNS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    common.add_argument("--quiet", action="store_true", help="no progress bar")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser = argparse.ArgumentParser(prog="scatterloop", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", parents=[common], help="build a demo workspace and serve the dashboard")
    p.add_argument("--workspace", default="demo-workspace")
    p.add_argument("--no-serve", action="store_true")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--size", type=int, default=256, help="frame size of the simulated frames")
    p.add_argument("--n", type=int, default=100, help="frames per pattern, for each of experimental and candidates")
    _add_server_flags(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", parents=[common], help="serve the dashboard for a workspace")
    p.add_argument("--workspace", required=True)
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None)
    _add_server_flags(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", parents=[common], help="write simulated frames with metadata.jsonl")
    p.add_argument("pattern", choices=SIM_PATTERNS)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--grid", type=int, default=257, choices=(257, 513), help="speckle k-grid")
    p.add_argument("--artifacts", default="none", help="none | random | a fraction (0.5) | an artifact type")
    p.add_argument(
        "--domain",
        default="default",
        choices=("default", "wide"),
        help="wide: rings/peaks/background on many detectors (strips, tall stacks, circular, CCD), beam positions, "
        "dtypes and count levels; --size is then the longest side",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("import", parents=[common], help="import files, folders or manifests into a workspace")
    p.add_argument("paths", nargs="+")
    p.add_argument("--workspace", required=True)
    p.add_argument("--source", default="experimental", choices=("experimental", "generated", "simulated"))
    p.add_argument("--metadata", default=None, help="a metadata.jsonl or CSV describing the files")
    p.add_argument("--dataset", default=None, help="HDF5 dataset path (default: NeXus signal or first image)")
    p.add_argument("--max-pixels", type=int, default=None, help="refuse frames larger than this")
    p.add_argument(
        "--follow-outside",
        action="store_true",
        help="import symlinks, manifest paths and HDF5 links that lead outside the folder being imported",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export approved images as an imagefolder + labels CSV")
    p.add_argument("--workspace", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--round", type=int, default=None)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("embed", parents=[common], help="latent map: autoencoder + UMAP/PCA, or place new images")
    p.add_argument("--workspace", required=True)
    p.add_argument("--method", default="umap", choices=("umap", "pca"))
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--size", type=int, default=64, help="autoencoder input size (multiple of 16)")
    p.add_argument("--seed", type=int, default=0, help="a seed makes UMAP reproducible and single-threaded")
    p.add_argument(
        "--features",
        default="autoencoder",
        help="what the map is drawn from: autoencoder (default), physics (z-scores against experimental frames) "
        "or classifier:<run id> (a finished round's penultimate layer or physics input)",
    )
    p.add_argument("--relayout", action="store_true", help="fit a new layout even if one is cached")
    p.add_argument("--place", action="store_true", help="place images the latest map has not seen")
    p.add_argument("--symmetry", action="store_true", help="also compute the symmetry score of every ring image")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("generate", parents=[common], help="train the domain diffusion model or sample candidates")
    p.add_argument("action", choices=("train", "sample"))
    p.add_argument("--workspace", required=True)
    p.add_argument("--preset", default="cpu", choices=("cpu", "gpu", "test"))
    p.add_argument("--steps", type=int, default=None, help="train: optimisation steps; sample: denoising steps")
    p.add_argument("--resume", type=int, default=None, help="train: continue from this training run's last checkpoint")
    p.add_argument("--checkpoint", default=None, help="sample: checkpoint folder (default: the latest)")
    p.add_argument("-n", type=int, default=16, help="sample: how many images")
    p.add_argument("--pattern", default=None)
    p.add_argument("--prompt", default=None)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--sampler", default="dpm++", choices=("dpm++", "ddim"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--backend", default="domain", choices=("domain", "sd-lora"))
    p.add_argument("--base", default=None, help="sd-lora: local Stable Diffusion 1.5 folder")
    p.add_argument("--data", default=None, help="sd-lora train: imagefolder with metadata.jsonl")
    p.add_argument("--lora", default=None, help="sd-lora sample: folder with the trained LoRA weights")
    p.add_argument("--resolution", type=int, default=512, help="sd-lora: image size")
    p.add_argument("--rank", type=int, default=4, help="sd-lora train: LoRA rank")
    p.set_defaults(func=cmd_generate)

    from .cli_classify import add_parser as add_classify

    add_classify(sub, common)
    from .cli_evaluate import add_parsers as add_evaluate

    add_evaluate(sub, common)

    from .cli_polar import add_parser as add_polar

    add_polar(sub, common)
    from .cli_bench import add_parser as add_bench

    add_bench(sub, common)
    from .cli_users import add_parser as add_users
    from .cli_worker import add_parser as add_worker

    add_worker(sub, common)
    add_users(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # reader libraries' complaints come back as one translated reason per file
        for name in ("tifffile", "fabio", "h5py", "PIL"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if args.quiet or args.json:
        logging.getLogger("scatterloop.core.ingest").setLevel(logging.ERROR)  # failures are listed once, below
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"scatterloop {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scatterloop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
