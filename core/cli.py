"""The `scatterloop` command (a contract: see DESIGN.md). With `--json`, the last stdout line is one JSON object.

Errors go to stderr as one line per problem and the exit code is non-zero.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from .cli_common import RunCancelled, foreign_options, positive_int, record_number, settings_from
from .cli_data import cmd_embed, cmd_export, cmd_import, cmd_simulate
from .cli_serve import add_server_flags, cmd_demo, cmd_serve
from .io_safety import one_line


def cmd_generate(args) -> int:
    from .cli_generate import cmd_generate as run

    return run(args)


# ------------------------------------------------------------------------------------------ parser
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the contract's one line on stderr (exit code 2), not the usage block, and
    with `--json` anywhere on the command line the last stdout line is still the contract's JSON object."""

    json_wanted = False  # set by `main` from the raw arguments: a usage error comes before they are parsed

    command: str | None = None  # the subcommand named on the command line, for the top parser's own errors

    def error(self, message: str):
        if _Parser.json_wanted:
            command = self.prog.split()[1] if len(self.prog.split()) > 1 else _Parser.command
            print(json.dumps({"command": command, "error": one_line(message), "exit_code": 2}))
        self.exit(2, f"{self.prog}: {one_line(message)}\n")


def _json_asked(raw: list[str]) -> bool:
    """`--json` (or an abbreviation argparse takes for it, `--js`) before any `--`."""
    head = raw[: raw.index("--")] if "--" in raw else raw
    return any(len(a) >= 3 and "--json".startswith(a) for a in head)


# commands that work on the images a workspace already holds: a missing folder is a typo, not a new empty workspace
# (`import`, `demo`, `serve`, `users` and `worker` may start one)
MAP_OPTIONS = ("method", "epochs", "size", "seed", "features", "relayout")  # embed's: what builds a new map
NEEDS_WORKSPACE = frozenset({"export", "embed", "generate", "classify", "evaluate", "report"})

# values that may be empty on purpose (an unconditional Stable Diffusion prompt)
MAY_BE_EMPTY = frozenset({"prompt"})


def empty_values(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The flags (or positionals) given an empty or blank string: `--workspace ""` or `--out ""` would mean the
    current folder, and `import ""` would import it, so they are refused instead of guessed."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
    empty = []
    for action in sub._actions:
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, list) else [value]
        if action.dest not in MAY_BE_EMPTY and any(isinstance(v, str) and not v.strip() for v in values):
            empty.append(action.option_strings[-1] if action.option_strings else action.dest)
    return empty


_SD_LORA = ("sd-lora",)
# which action (and backend) each `generate` option is for: given to another, it is refused, not ignored
GENERATE_ONLY_FOR = (
    ("action", {"preset": ("train",), "resume": ("train",), "data": ("train",), "rank": ("train",),
                "checkpoint": ("sample",), "n": ("sample",), "pattern": ("sample",), "prompt": ("sample",),
                "guidance": ("sample",), "sampler": ("sample",), "lora": ("sample",)}),
    ("backend", {"preset": ("domain",), "resume": ("domain",), "checkpoint": ("domain",), "sampler": ("domain",),
                 "base": _SD_LORA, "data": _SD_LORA, "lora": _SD_LORA, "resolution": _SD_LORA, "rank": _SD_LORA}),
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from .cli_names import SIM_PATTERNS

    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    common.add_argument("--quiet", action="store_true", help="no progress bar")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser = _Parser(prog="scatterloop", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", parents=[common], help="build a demo workspace and serve the dashboard")
    p.add_argument("--workspace", default="demo-workspace")
    p.add_argument("--no-serve", action="store_true")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--size", type=int, default=256, help="frame size of the simulated frames")
    p.add_argument("--n", type=int, default=100, help="frames per pattern, for each of experimental and candidates")
    add_server_flags(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", parents=[common], help="serve the dashboard for a workspace")
    p.add_argument("--workspace", required=True)
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None)
    add_server_flags(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", parents=[common], help="write simulated frames with metadata.jsonl")
    p.add_argument("pattern", choices=SIM_PATTERNS)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=None, help="frame side in pixels (default 256; speckle: see --grid)")
    p.add_argument(
        "--grid", type=int, default=257, choices=(257, 513), help="speckle k-grid: a speckle frame is grid x grid"
    )
    p.add_argument(
        "--artifacts",
        default="none",
        help="none | random | a probability (0.5: each frame a hallucination with that chance, so -n 4 may hold "
        "none) | an artifact type",
    )
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
    p.add_argument("--max-pixels", type=positive_int, default=None, help="refuse frames larger than this")
    p.add_argument(
        "--follow-outside",
        action="store_true",
        help="import symlinks, manifest paths and HDF5 links that lead outside the folder being imported",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export approved images as an imagefolder + labels CSV")
    p.add_argument("--workspace", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--round", type=record_number, default=None)
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
    # what builds a map, which --place (into the latest map as it is) would ignore: refused beside it
    building = {a.dest: (a.option_strings[0], a.default) for a in p._actions if a.dest in MAP_OPTIONS}
    p.set_defaults(func=cmd_embed, map_options=building)

    p = sub.add_parser("generate", parents=[common], help="train the domain diffusion model or sample candidates")
    p.add_argument("action", choices=("train", "sample"))
    p.add_argument("--workspace", required=True)
    p.add_argument(
        "--preset",
        default=None,
        choices=("cpu", "gpu", "test"),
        help="train: default cpu; a resumed run keeps its",
    )
    p.add_argument("--steps", type=int, default=None, help="train: optimisation steps; sample: denoising steps")
    p.add_argument(
        "--resume", type=record_number, default=None, help="train: continue from this training run's last checkpoint"
    )
    p.add_argument(
        "--checkpoint", default=None, help="sample: checkpoint folder, absolute or in the workspace (default: latest)"
    )
    p.add_argument("-n", type=int, default=16, help="sample: how many images")
    p.add_argument("--pattern", default=None)
    p.add_argument("--prompt", default=None)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--sampler", default="dpm++", choices=("dpm++", "ddim"))
    p.add_argument("--seed", type=int, default=None, help="sample: default a fresh one, recorded (train: 0)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--backend", default="domain", choices=("domain", "sd-lora"))
    p.add_argument("--base", default=None, help="sd-lora: local Stable Diffusion 1.5 folder")
    p.add_argument("--data", default=None, help="sd-lora train: imagefolder with metadata.jsonl")
    p.add_argument("--lora", default=None, help="sd-lora sample: folder with the trained LoRA weights")
    p.add_argument("--resolution", type=int, default=512, help="sd-lora: image size")
    p.add_argument("--rank", type=int, default=4, help="sd-lora train: LoRA rank")
    p.set_defaults(func=cmd_generate, only_for=GENERATE_ONLY_FOR)

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


# optional modules and the extra that installs each
EXTRAS = {"celery": "celery", "kombu": "celery", "redis": "celery", "psycopg": "postgres", "psycopg2": "postgres",
          "gunicorn": "server", "waitress": "server"}  # fmt: skip


def _fail(args, message: str, code: int = 2, **extra) -> int:
    """One line on stderr; with `--json` the last stdout line is still one JSON object, saying what failed."""
    action = getattr(args, "action", None)  # "classify table", as the command's own answer names it
    command = f"{args.command} {action}" if isinstance(action, str) else args.command
    print(f"scatterloop {command}: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"command": command, "error": message, "exit_code": code, **extra}))
    return code


class _OneLineFormatter(logging.Formatter):
    """A log record without its traceback: in a terminal without --verbose, a failure is one line."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return super().format(record)


def _not_a_workspace(folder: str, external_db: bool) -> str | None:
    """Why a command that only works in a workspace must not open `folder` (opening makes one: a mistyped
    `--workspace ~/data` would fill a data folder with a database and folders), or None."""
    from pathlib import Path

    from .workspace import MARK, WORKSPACE_FOLDERS, enclosing_workspace

    if (outer := enclosing_workspace(Path(folder))) is not None:  # said first: no import could make one there
        return f"is inside the workspace {outer}; a workspace cannot hold another"
    if not os.path.lexists(folder):
        return "does not exist"
    marked = any(os.path.isfile(os.path.join(folder, n)) for n in (MARK, "scatterloop.db"))
    # a workspace older than its mark, with its database elsewhere (SCATTERLOOP_DATABASE_URL): its own folders
    laid_out = external_db and all(os.path.isdir(os.path.join(folder, n)) for n in WORKSPACE_FOLDERS)
    if os.path.isdir(folder) and not (marked or laid_out):
        return f"is not a workspace (no {MARK} mark, scatterloop.db or workspace folders in it)"
    return None


def _stop_on_signals() -> dict:
    """Ctrl-C and SIGTERM (a scheduler's, `timeout`'s, `kill`'s) stop a command's running job as a Cancel does:
    at its next check, recorded `cancelled`, its temporaries cleaned, exit 128 + the signal's number (130 for Ctrl-C,
    143 for SIGTERM, as a shell reports a process the signal ended) with the run's id. With no job
    running, at a second signal, or `STOP_GRACE_S` after the first (a job that never checks: a benchmark's, a long
    fit), the command stops where it is. Only in the main thread (where Python runs handlers); the previous
    handlers come back when the command returns (tests call `main` many times). No SIGALRM: Windows has none, and
    a caller's own alarm stays its own."""
    import _thread
    import signal
    import threading

    from .jobs import stop_running_jobs

    if threading.current_thread() is not threading.main_thread():
        return {}
    state: dict = {}

    def handler(signum, _frame):
        state.setdefault("signum", signum)  # the exit code says which: 130 for Ctrl-C, 143 for SIGTERM
        if stop_running_jobs():
            print(
                f"scatterloop: stopping the running job at its next check (within {STOP_GRACE_S} s; again: at once)",
                file=sys.stderr,
            )
            for sig in state["signals"]:  # the next one interrupts where it is
                signal.signal(sig, signal.default_int_handler)
            timer = threading.Timer(STOP_GRACE_S, _thread.interrupt_main)  # raises KeyboardInterrupt in main
            timer.daemon = True
            timer.start()
            state["timer"] = timer
            return
        raise KeyboardInterrupt

    state["signals"] = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    for sig in state["signals"]:
        state[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    return state


STOP_GRACE_S = 10  # seconds a signalled job has to reach its next check


def _stopped_code(state: dict) -> int:
    """128 + the signal that stopped the command (Ctrl-C: 130, SIGTERM: 143); 130 for a cancel from elsewhere (the
    Jobs tab, another shell), as the README has always said."""
    return 128 + int(state.get("signum", 2))


def _restore_signals(state: dict) -> None:
    import signal

    if (timer := state.get("timer")) is not None:
        timer.cancel()
    for sig in state.get("signals", []):
        old = state[sig]
        signal.signal(sig, old if old is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_wanted = _json_asked(raw)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    _Parser.command = next((a for a in raw if a in commands), None)
    args = parser.parse_args(raw)
    empty = empty_values(parser, args)
    if empty:
        return _fail(args, "; ".join(f"{name}: expected a value, got an empty string" for name in empty))
    if foreign := foreign_options(commands[args.command], args, raw):
        return _fail(args, foreign)
    # `users add` may set a workspace up before its first import (its admin); list and remove read one
    needs = args.command in NEEDS_WORKSPACE or (args.command == "users" and args.action != "add")
    try:
        external = needs and settings_from(args).database_url is not None
    except ValueError:  # a bad setting: the command's own opening says which, in one line
        external = False
    if needs and (problem := _not_a_workspace(args.workspace, external)):
        makes = " (`scatterloop import` or `scatterloop demo` makes a workspace)"
        makes = "" if "cannot hold another" in problem else makes
        return _fail(args, f"--workspace: {one_line(args.workspace)} {problem}{makes}")
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(levelname)s %(name)s: %(message)s"
    # a command's failure is one line; a server's or a worker's log keeps every traceback for whoever runs it
    one_line_log = not args.verbose and args.command not in ("serve", "demo", "worker")
    handler.setFormatter(_OneLineFormatter(fmt) if one_line_log else logging.Formatter(fmt))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler])
    if not args.verbose:  # reader libraries' complaints come back as one translated reason per file
        for name in ("tifffile", "fabio", "h5py", "PIL", "pyFAI", "silx"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    ingest_log = logging.getLogger("scatterloop.core.ingest")
    ingest_level = ingest_log.level
    if args.command == "import" and not args.verbose:
        # each failed file is listed once, on its own line, by import's summary; --verbose adds the log's copy,
        # with the traceback of an internal error
        ingest_log.setLevel(logging.CRITICAL)
    # a server or a worker keeps its own ways to stop (its runs are reaped as interrupted, or handed back)
    previous = _stop_on_signals() if args.command not in ("serve", "demo", "worker") else {}
    try:
        args.command_line = raw  # the command line as given: an option typed at its default value is still typed
        return args.func(args)
    except RunCancelled as exc:  # before ValueError: a cancel is no bad input
        return _fail(args, str(exc), _stopped_code(previous), run_id=exc.run_id, status="cancelled")
    except (ValueError, OSError) as exc:
        return _fail(args, one_line(exc))
    except OverflowError as exc:  # a number too large for a library (SQLite's 64-bit integers, a C long)
        return _fail(args, f"a number is too large: {one_line(exc)}")
    except MemoryError:
        image = getattr(args, "image", None)  # `polar` reads one named file
        return _fail(args, f"{one_line(image)}: out of memory" if image else "out of memory", 1)
    except ModuleNotFoundError as exc:  # an optional part asked for and not installed
        top = (exc.name or "").split(".")[0]
        extra = EXTRAS.get(top)
        if extra is None:
            raise
        return _fail(args, f"{top} is not installed; this needs pip install 'scatterloop[{extra}]'")
    except Exception as exc:
        if type(exc).__module__.split(".")[0] == "sqlalchemy":
            # the workspace database: a bad SCATTERLOOP_DATABASE_URL, a file that is not SQLite, a read-only folder
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            return _fail(args, f"workspace database: {one_line(reason)}")
        if args.verbose:
            raise
        logging.getLogger(__name__).debug("internal error", exc_info=exc)
        return _fail(args, f"internal error ({type(exc).__name__}: {one_line(exc)}); --verbose shows where", 1)
    except KeyboardInterrupt as exc:  # a job stopped where it was is recorded cancelled: which one is said
        run = getattr(exc, "run_id", None)
        extra = {"run_id": run, "status": "cancelled"} if run else {}
        return _fail(args, "interrupted", _stopped_code(previous), **extra)
    finally:
        ingest_log.setLevel(ingest_level)
        _restore_signals(previous)


if __name__ == "__main__":
    sys.exit(main())
