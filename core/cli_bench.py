"""`scatterloop bench NAME`: run one benchmark and print its JSON (options are passed only where it takes them)."""

from __future__ import annotations

# what a benchmark's options may be (simulate checks its own --size): below these they mean nothing (a negative
# count reached numpy as an unnamed error, zero epochs reported an untrained model), above them a run never ends
BOUNDS = {
    "n": (1, 1_000_000),
    "seed": (0, 2**32 - 1),
    "epochs": (1, 100_000),
    "baseline_n": (0, 1_000_000),
}


def cmd_bench(args) -> int:
    from .benchmarks import load_bench

    kwargs = {
        k: v
        for k, v in (
            ("n", args.n),
            ("size", args.size),
            ("seed", args.seed),
            ("workspace", args.workspace),
            ("models", args.models),
            ("epochs", args.epochs),
            ("checkpoint", args.checkpoint),
            ("baseline_n", args.baseline_n),
            ("manifest", args.manifest),
            ("quick", True if args.quick else None),
        )
        if v is not None
    }
    for k, (lo, hi) in BOUNDS.items():
        v = kwargs.get(k)
        if v is not None and not lo <= v <= hi:
            raise ValueError(f"--{k.replace('_', '-')}: expected {lo} to {hi}, got {v}")
    import inspect

    bench = load_bench(args.name)
    accepted = inspect.signature(bench).parameters
    for k in kwargs:
        if k not in accepted:
            raise ValueError(f"bench {args.name} does not take --{k}")
    from .benchmarks import showing
    from .cli_common import emit, strict_json, terminal_progress

    with terminal_progress(f"bench {args.name}", not args.quiet) as progress, showing(progress):
        result = bench(**kwargs)

    result = {"command": "bench", **result}  # as every command's JSON says which it is (its errors did)
    emit(args, result, strict_json(result, indent=2))
    return 0


def add_parser(sub, common) -> None:
    from .cli_names import BENCHES

    p = sub.add_parser("bench", parents=[common], help="run a benchmark and print JSON")
    p.add_argument(
        "name",
        choices=BENCHES,
    )
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--workspace", default=None, help="generate: a workspace with a trained generator")
    p.add_argument("--models", default=None, help="train/loop/speckle: comma-separated registry names")
    p.add_argument("--epochs", type=int, default=None, help="train/loop/speckle: training epochs")
    p.add_argument("--checkpoint", default=None, help="generate: a checkpoint folder (default: latest)")
    p.add_argument(
        "--baseline-n",
        type=int,
        default=None,
        help="generate: images per pattern for DDPM; simreal: default-domain frames per class "
        "for the domain check's baseline network (0: skip)",
    )
    p.add_argument(
        "--manifest",
        default=None,
        help="polar: a MANIFEST.json whose frames with centres are measured; simreal: whose rings/peaks/background "
        "frames are classified",
    )
    p.add_argument(
        "--quick", action="store_true", help="loop, mapsep, pretrain: a reduced run for CI-sized checks (minutes)"
    )
    p.set_defaults(func=cmd_bench)
