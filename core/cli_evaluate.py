"""`scatterloop evaluate` and `scatterloop report`: realism numbers and the standalone HTML report."""

from __future__ import annotations

import dataclasses

from .cli_common import emit, recorded_run, settings_from


def run_evaluation(ws, params, quiet: bool):
    from .evaluate import evaluate

    return recorded_run(
        "evaluate",
        quiet,
        ws.store,
        "evaluate",
        dataclasses.asdict(params),
        lambda run_id, progress, should_stop: evaluate(
            ws, params, run_id=run_id, progress=progress, should_stop=should_stop
        ),
    )


def _params(args, settings):
    from .evaluate import EvalParams

    weights = args.inception_weights or settings.inception_weights
    given = {
        k: getattr(args, k) for k in EVALUATION_FLAGS if getattr(args, k) is not None and k != "inception_weights"
    }
    return EvalParams(**given, inception_weights=str(weights) if weights else None)


EVALUATION_FLAGS = ("extractor", "inception_weights", "kid_subsets", "seed")  # default None: EvalParams' defaults


def cmd_evaluate(args) -> int:
    from .workspace import Workspace

    settings = settings_from(args)
    ws = Workspace.open(settings)
    try:
        run_id, res = run_evaluation(ws, _params(args, settings), args.quiet)
        out = {"command": "evaluate", "run_id": run_id, **dataclasses.asdict(res)}
        for key in ("symmetry", "ssim"):
            out[key] = [{k: v for k, v in r.items() if k != "values"} for r in out[key]]
        lines = [f"evaluation run {run_id} ({res.extractor}, {res.seconds:.0f} s)"]
        for r in res.table:
            score = f"FID {r['fid']:.3f} KID {r['kid_mean']:.4f}±{r['kid_std']:.4f}" if "fid" in r else r.get("note")
            lines.append(f"  {r['pattern']:10s} {r['group']:14s} N {r['n_experimental']}/{r['n_generated']}  {score}")
        lines += [f"  note: {note}" for note in res.notes]
        emit(args, out, "\n".join(lines))
    finally:
        ws.store.dispose()
    return 0


def cmd_report(args) -> int:
    from .evaluate import nothing_to_evaluate, write_report
    from .workspace import Workspace

    settings = settings_from(args)
    ws = Workspace.open(settings)
    try:
        ws.check_output(args.out)  # before an evaluation is spent on a report that cannot be written
        done = [r for r in ws.store.list_runs(1000) if r.kind == "evaluate" and r.status == "done"]
        fresh = None
        # an evaluation flag asks for numbers of that evaluation, never for an older one's under the flag's name
        asked = args.evaluate or any(getattr(args, k) is not None for k in EVALUATION_FLAGS)
        without = None  # why the workspace cannot be evaluated: the report holds the rest and says why
        if asked or not done:  # a cancelled evaluation raises: no report of older numbers in its place
            without = None if asked else nothing_to_evaluate(ws.store)
            if without is None:
                fresh, _ = run_evaluation(ws, _params(args, settings), args.quiet)
        try:
            path = write_report(ws, args.out, evaluation_run=fresh, without=without)
        except OSError as exc:  # a full disk, a folder not writable: the file named, the old report kept
            raise ValueError(f"--out {args.out}: {exc.strerror or exc}") from None
        said = f"wrote {path}" + (f" without an evaluation ({without})" if without else "")
        payload = {"command": "report", "path": str(path), "bytes": path.stat().st_size, "without_evaluation": without}
        emit(args, payload, said)
    finally:
        ws.store.dispose()
    return 0


def add_parsers(sub, common) -> None:
    for name, func, helptext in (
        ("evaluate", cmd_evaluate, "FID/KID/IS per pattern, SSIM and polar symmetry, recorded as a run"),
        (
            "report",
            cmd_report,
            "write a standalone HTML report (runs an evaluation first if none exists and the workspace has what one "
            "needs; else the report holds the rest and says why)",
        ),
    ):
        p = sub.add_parser(name, parents=[common], help=helptext)
        p.add_argument("--workspace", required=True)
        if name == "report":
            p.add_argument("--out", required=True, help="the HTML file to write")
            p.add_argument("--evaluate", action="store_true", help="run a fresh evaluation first")
        again = "; report: any of these runs a fresh evaluation" if name == "report" else ""
        p.add_argument(
            "--extractor", default=None, choices=("autoencoder", "inception"), help=f"default autoencoder{again}"
        )
        p.add_argument("--inception-weights", default=None, help="local Inception-v3 weights file")
        p.add_argument("--kid-subsets", type=int, default=None, help="default 100")
        p.add_argument("--seed", type=int, default=None, help="default 0")
        p.set_defaults(func=func)
