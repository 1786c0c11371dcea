"""A long job's progress as a bar or a log line shows it: percent, what it is doing, time elapsed and an estimate
of the time left (from the rate so far within the current phase; a job whose count starts again, autoencoder then
UMAP, starts a new estimate). Pure Python: the pages' bars and the runners' log lines both use it."""

from __future__ import annotations

import time
from collections.abc import Callable

MESSAGE_CHARS = 40  # of a stage's message in the bar, beside percent, time elapsed and left


def clock(seconds: float) -> str:
    """42 s → "0:42", 3725 s → "1:02:05"."""
    s = int(round(max(seconds, 0.0)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def time_left(elapsed: float, fraction: float) -> float | None:
    """Seconds left at the rate so far, or None before 2 s or 2 % of the work (it would only be noise) and once
    the work is done."""
    if 0.02 <= fraction < 1 and elapsed >= 2:
        return elapsed * (1 - fraction) / fraction
    return None


def short(message: str) -> str:
    """A stage's message cut to `MESSAGE_CHARS` at a word, and saying so: never a half word or an open bracket."""
    if len(message) <= MESSAGE_CHARS:
        return message
    cut = message[: MESSAGE_CHARS - 1].rsplit(" ", 1)[0]
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rindex("(")]
    return cut.rstrip(" ·(,") + "…"


_RATE = object()  # progress_text's default: the estimate from the phase's whole rate


def progress_text(
    done: float, total: float, message: str, elapsed: float, phase_elapsed: float | None = None, stage: int = 1,
    left: float | None | object = _RATE,
) -> str:  # fmt: skip
    """ "31% · autoencoder epoch 3/10 · 0:42, ~1:33 left"; no estimate before 2 s or 2 % of the work, where it
    would only be noise. From a job's second stage on (its count started again) the text says which stage, so a
    bar that goes back to 20 % after 100 % reads as the next stage, not as lost work."""
    pct = int(100 * done / max(total, 1))
    text = (f"stage {stage} · " if stage > 1 else "") + f"{pct}%"
    text += (f" · {short(message)}" if message else "") + f" · {clock(elapsed)}"
    phase = elapsed if phase_elapsed is None else phase_elapsed
    if left is _RATE:
        left = time_left(phase, done / max(total, 1)) if total else None
    if left is not None:
        text += f", ~{clock(left)} left"
    return text


class Eta:
    """Turns `progress(done, total, message)` calls into (percent, bar text) for a Dash progress output.

    The time left is read from the rate over the later half of the phase so far, not from its start: a job that
    starts partly done (an evaluation whose features are cached jumps to 41 % in a second, then creeps) promised
    2 s with 23 s left when its first second counted as the rate of the rest."""

    def __init__(self, now: Callable[[], float] = time.monotonic, elapsed: float = 0.0):
        """`elapsed`: seconds the job ran before this bar first saw it (a page that took up a running run): the
        time shown counts from the job's start, but the estimate only from what this bar saw (the job's stage
        and rate before it are unknown)."""
        self._now = now
        self.started = now() - max(elapsed, 0.0)
        self._new_phase(self.started)
        self._joined = elapsed > 0  # the first report starts the phase, at the fraction it reports
        self._last = (0.0, 0.0)
        self.stage = 1

    def _new_phase(self, t: float) -> None:
        self._phase_started = t
        self._seen = [(t, 0.0)]  # (time, fraction done) of this phase

    def _left(self, t: float, fraction: float) -> float | None:
        self._seen.append((t, fraction))
        middle = self._phase_started + (t - self._phase_started) / 2
        k = max(i for i, (when, _) in enumerate(self._seen) if when <= middle)
        del self._seen[:k]  # the middle only moves on: older samples are never read again
        when, then = self._seen[0]
        if time_left(t - self._phase_started, fraction) is None or t <= when or fraction <= then:
            return None  # before 2 s or 2 % of the phase, once it is done, or no progress over the window
        return (1 - fraction) * (t - when) / (fraction - then)

    def __call__(self, done: float, total: float, message: str = "") -> tuple[int, str]:
        t = self._now()
        last_done, last_total = self._last
        finished = last_total and last_done >= last_total
        restarted = last_total and (done < last_done or total != last_total)  # the count began again
        if restarted:
            self.stage += 1
            if not finished:
                self._new_phase(t)
        if self._joined:  # taken up mid-run: this phase is counted from here, from where it stands
            self._joined = False
            self._phase_started, self._seen = t, [(t, done / total if total else 0.0)]
        self._last = (done, total)
        left = self._left(t, done / total) if total else None
        text = progress_text(done, total, message, t - self.started, t - self._phase_started, self.stage, left)
        if total and done >= total:  # this phase is over: the next one starts now
            self._new_phase(t)
        return int(100 * done / max(total, 1)), text


class LogLines:
    """A job's progress as log lines on the terminal of the server or worker that runs it (several jobs may run at
    once in as many processes, where bars would overwrite each other): "run 12 (classify) 40% · epoch 8/20 · 0:45,
    ~1:07 left", at each tenth of the work, at the start of each stage, and at least every `every` seconds."""

    def __init__(self, run_id: int, kind: str, say: Callable[[str], None], every: float = 30.0,
                 now: Callable[[], float] = time.monotonic):  # fmt: skip
        self.head, self._say, self._every, self._now = f"run {run_id} ({kind})", say, every, now
        self._eta = Eta(now=now)
        self._last: tuple[float, int, int] | None = None  # (when, tenth, stage) of the last line

    def elapsed(self) -> float:
        return self._now() - self._eta.started

    def __call__(self, done: float, total: float, message: str = "") -> None:
        pct, text = self._eta(done, total, message)
        t, tenth, stage = self._now(), min(pct, 100) // 10, self._eta.stage
        if self._last is None or (tenth, stage) != self._last[1:] or t - self._last[0] >= self._every:
            self._last = (t, tenth, stage)
            self._say(f"{self.head} {text}")
