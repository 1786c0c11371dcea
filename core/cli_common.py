"""What every `scatterloop` command shares: settings from the flags, the terminal progress bar, recorded runs
and the output contract (with `--json`, the last stdout line is one JSON object). Commands import these from
here; `core.cli` only builds the parser and dispatches, so no command module imports `core.cli` back."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager

from .config import Settings


@contextmanager
def terminal_progress(desc: str, enabled: bool = True, notebook: bool = False):
    """A tqdm bar on stderr fed by a `progress(done, total, message)` callback; it appears on the first
    report, so a command that fails while checking its input prints only its error line. `notebook`: tqdm's
    auto bar (a widget in Jupyter, text elsewhere) for the Python API."""
    if notebook:
        from tqdm.auto import tqdm
    else:
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


class RunCancelled(Exception):
    """A command's run was cancelled (the Jobs tab, a page's Cancel) before it finished: the command says so on
    one line and exits non-zero, never reports the cancelled run as done."""

    def __init__(self, run_id: int | None):
        super().__init__(f"run {run_id} was cancelled" if run_id is not None else "cancelled")
        self.run_id = run_id


def recorded_run(desc: str, quiet: bool, store, kind: str, params: dict, work):
    """Run `work(run_id=, progress=, should_stop=)` as a recorded run with a terminal progress bar.

    Raises:
        RunCancelled: the run was cancelled before it finished.
    """
    from .jobs import Interrupted, run_job

    try:
        with terminal_progress(desc, not quiet) as progress:
            run_id, result = run_job(store, kind, params, work, progress=progress)
    except Interrupted as exc:  # a second Ctrl-C: the run is recorded cancelled, and the command says which
        raise RunCancelled(exc.run_id) from None
    if result is None and (run := store.get_run(run_id)) is not None and run.status == "cancelled":
        raise RunCancelled(run_id)
    return run_id, result


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (a pixel limit of 0 or -5 would refuse every frame)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def record_number(text: str) -> int:
    """argparse type: a round or run number, 1 to 2**62 (the store's integers are 64-bit: a larger one was an
    OverflowError from SQLite, a negative one matched nothing and exported or predicted nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a round or run number, got {text!r}") from None
    if not 1 <= value <= 2**62:
        raise argparse.ArgumentTypeError(f"expected a round or run number from 1, got {value}")
    return value


def settings_from(args) -> Settings:
    return Settings.from_env(
        workspace=getattr(args, "workspace", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        max_pixels=getattr(args, "max_pixels", None),
        login=getattr(args, "login", None),
    )


def strict_json(payload, indent: int | None = None) -> str:
    """JSON any parser reads: a value that is not a finite number (a median over refused frames) is null, not the
    `Infinity` or `NaN` that Python would write and `jq` or JavaScript refuse."""

    def finite(v):
        if isinstance(v, float):
            return v if v == v and abs(v) != float("inf") else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(payload), default=str, indent=indent, allow_nan=False)


def typed(flag: str, raw) -> bool:
    """Whether the command line `raw` gives option `flag` (`--grid 257` or `--grid=257`), even at its default."""
    return any(a == flag or a.startswith(f"{flag}=") for a in raw)


def foreign_options(sub: argparse.ArgumentParser, args: argparse.Namespace, raw: list[str] = ()) -> str | None:
    """Why options given to a subcommand's action do not belong to it, or None. A subcommand with actions
    (`classify table`) declares `only_for`: pairs of the argument that picks (`action`, `backend`) and, per
    option, the values it is for. An option set away from its default for another value would be ignored
    without a word (`classify table --run 7`), so it is refused, naming what it is for (as `raw`, the command
    line, spells it)."""
    wrong = []
    for key, table in sub.get_default("only_for") or ():
        chosen = getattr(args, key)
        for action in sub._actions:
            allowed = table.get(action.dest)
            if allowed is None or chosen in allowed or getattr(args, action.dest) == action.default:
                continue
            given = [o for o in action.option_strings if typed(o, raw)]
            name = (given or action.option_strings or [action.metavar or action.dest.upper()])[0]  # as typed
            wrong.append(f"{name} is for {' or '.join(allowed)}, not {chosen}")
    return "; ".join(wrong) or None


def emit(args, payload: dict, human: str) -> None:
    if args.json:
        print(strict_json(payload))
    else:
        print(human)
