"""The status line beside a job's bar speaks of the current run, never of the last one.

A click that starts a job replaces its line at once, in the browser (a clientside callback: no round trip, so the
line has changed before the job's own answer can arrive); when `launch` binds the bar to the new run (its run
store), the line names that run; the job's outcome replaces it when the run ends. A page reloaded while its run
ran takes it up (`job_watch.resume`): its empty line then says the run is running. A line that only said what was
missing ("No trained model yet") is cleared when the job that supplies it starts.
"""

from __future__ import annotations

import json

from dash import Input, Output, State

from scatterloop.dashboard import ids

STARTING = "Starting: the bar shows progress, elapsed time and time left."


def started_line(run_id: int | str, what: str = "job") -> str:
    return f"Run {run_id} ({what}) started: the bar shows progress, elapsed time and time left."


def running_line(run_id: int | str, what: str = "job") -> str:
    return f"Run {run_id} ({what}) is running: the bar shows progress, elapsed time and time left."


def replace_on_start(app, status: str, buttons: list[str], bar: str, what: str = "job") -> None:
    """Any of `buttons` clicked: `status` says STARTING at once; once `bar` follows the new run, the line names it
    (unless the run has already ended and its outcome is there)."""
    app.clientside_callback(
        f"function () {{ return {json.dumps(STARTING)}; }}",
        Output(status, "children", allow_duplicate=True),
        *[Input(b, "n_clicks") for b in buttons],
        prevent_initial_call=True,
    )
    app.clientside_callback(  # an empty line: a reloaded page took up its running run (`job_watch.resume`)
        "function (run, line) {"
        f" if (!run || (line && line !== {json.dumps(STARTING)})) {{ return window.dash_clientside.no_update; }}"
        f" const said = line ? {json.dumps(started_line('{run}', what))} : {json.dumps(running_line('{run}', what))};"
        " return said.replace('{run}', run); }",
        Output(status, "children", allow_duplicate=True),
        Input(ids.job_run(bar), "data"),
        State(status, "children"),
        prevent_initial_call=True,
    )


def forget_on_start(app, status: str, buttons: list[str], stale: tuple[str, ...]) -> None:
    """Any of `buttons` clicked: `status` is emptied if it holds one of the `stale` lines, kept otherwise."""
    app.clientside_callback(
        "function () { const line = arguments[arguments.length - 1];"
        f" const stale = {json.dumps(list(stale))};"
        " return typeof line === 'string' && stale.includes(line) ? '' : window.dash_clientside.no_update; }",
        Output(status, "children", allow_duplicate=True),
        *[Input(b, "n_clicks") for b in buttons],
        State(status, "children"),
        prevent_initial_call=True,
    )
