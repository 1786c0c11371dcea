"""Run and artifact records of the store: every long job, its status, progress, cancel flag and outputs."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, update

from .models import Artifact, Run, utcnow

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")
INTERRUPTED = "interrupted: the process running it ended without finishing (killed or crashed)"
HEARTBEAT_S = 60  # a running job writes a heartbeat at least this often (`jobs.execute`)
LOST_AFTER_S = 15 * 60  # no heartbeat for this long: its process or its machine is gone
LOST = f"lost: no sign of life from its process for {LOST_AFTER_S // 60} minutes (its worker or machine stopped)"
START_TOLERANCE_S = 1.0  # psutil derives start times from boot time + clock ticks: equal to well under this


def this_process() -> dict:
    """host, pid and pid start time of the calling process, as a run records them."""
    import psutil

    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_started": psutil.Process().create_time()}


def _process_gone(pid: int, started: float | None) -> bool:
    """Whether the process recorded as (pid, start time) no longer runs on this machine."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:  # died, not yet reaped by its parent
            return True
        return started is not None and abs(proc.create_time() - started) > START_TOLERANCE_S  # pid reused
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False  # a process we may not inspect is there: not ours to call dead


class RunRecords:
    """Part of `Store` (mixed in): uses its `session()`."""

    def create_run(self, kind: str, params: dict, started_by: str | None = None) -> int:
        """A queued run; `started_by` is the signed-in user who started it (login on): it decides who may cancel."""
        with self.session(write=True) as s:
            run = Run(kind=kind, params=params, status="queued", started_by=started_by)
            s.add(run)
            s.flush()
            return run.id

    def update_run(self, run_id: int, **fields) -> None:
        with self.session(write=True) as s:
            run = s.get(Run, run_id)
            if run is None:
                raise ValueError(f"run {run_id}: no such run")
            for key, value in fields.items():
                setattr(run, key, value)

    def request_cancel(self, kinds: tuple[str, ...] | None = None) -> list[int]:
        """Ask running (or queued) runs to stop at their next check; returns their ids."""
        with self.session(write=True) as s:
            q = select(Run).where(Run.status.in_(("queued", "running")))
            if kinds:
                q = q.where(Run.kind.in_(kinds))
            runs = list(s.scalars(q))
            for run in runs:
                run.cancel_requested = True
            return [r.id for r in runs]

    def _db_now(self):
        """Now by the database's clock where it has one to share (PostgreSQL: workers on other machines write
        heartbeats that another machine judges, so their clocks must not be compared), else this machine's."""
        return func.now() if self.engine.dialect.name == "postgresql" else utcnow()

    def _lost_before(self):
        """Heartbeats older than this are a lost run's."""
        if self.engine.dialect.name == "postgresql":
            return func.now() - timedelta(seconds=LOST_AFTER_S)
        return utcnow() - timedelta(seconds=LOST_AFTER_S)

    def cancel_run(self, run_id: int) -> bool:
        """Ask one run to stop at its next check; False when it is not queued or running. A queued run, and a
        running one whose process went silent (`LOST_AFTER_S`), end `cancelled` at once: nobody would read the
        request (a worker that starts it later finds it no longer queued)."""
        stale = self._lost_before()
        with self.session(write=True) as s:
            ended = s.scalars(
                update(Run)
                .where(
                    Run.id == run_id,
                    or_(Run.status == "queued", and_(Run.status == "running", Run.heartbeat_at < stale)),
                )
                .values(status="cancelled", cancel_requested=True, finished_at=utcnow(), message="cancelled")
                .returning(Run.id)
            ).all()
            hit = (
                ended
                or s.scalars(
                    update(Run)
                    .where(Run.id == run_id, Run.status.in_(UNFINISHED))
                    .values(cancel_requested=True)
                    .returning(Run.id)
                ).all()
            )
        return bool(hit)

    def beat(self, run_id: int) -> bool:
        """The running process is alive (`jobs.execute`, at least every HEARTBEAT_S); False when the run is no
        longer running (taken for lost while its process was suspended, or ended elsewhere)."""
        with self.session(write=True) as s:
            return bool(
                s.scalars(
                    update(Run)
                    .where(Run.id == run_id, Run.status == "running")
                    .values(heartbeat_at=self._db_now())
                    .returning(Run.id)
                ).all()
            )

    def start_run(self, run_id: int) -> None:
        """Mark a run running in this process, identified (for `reap_interrupted`) by host, pid and pid start time."""
        with self.session(write=True) as s:
            s.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(status="running", started_at=utcnow(), heartbeat_at=self._db_now(), **this_process())
            )

    def claim_run(self, run_id: int) -> bool:
        """Mark a queued run running in this process; False when it is not queued (already taken by another
        worker, a redelivered message, cancelled or finished), so no run is ever executed twice."""
        with self.session(write=True) as s:
            taken = s.scalars(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(status="running", started_at=utcnow(), heartbeat_at=self._db_now(), **this_process())
                .returning(Run.id)
            ).all()
        return bool(taken)

    def reap_interrupted(self) -> list[int]:
        """Mark as failed the unfinished runs whose process is gone; returns their ids.

        On this machine a run's process is gone when its pid is (a process is the one that ran the job only if its
        start time matches the one recorded, so a pid reused by another process does not keep a dead run alive;
        runs recorded before start times were are judged by their pid alone). On any machine a running run is lost
        when its process has written no heartbeat for `LOST_AFTER_S` (a worker node that died, a killed Celery
        pool process); runs recorded before heartbeats were are left alone.
        """
        host = socket.gethostname()
        stale = self._lost_before()
        with self.session() as s:
            live = s.execute(
                select(Run.id, Run.pid, Run.pid_started).where(Run.status.in_(UNFINISHED), Run.host == host)
            ).all()
            silent = set(s.scalars(select(Run.id).where(Run.status == "running", Run.heartbeat_at < stale)))
        gone = {rid for rid, pid, started in live if pid is not None and _process_gone(pid, started)}
        reaped = []
        for ids, error in ((gone, INTERRUPTED), (silent - gone, LOST)):
            if not ids:
                continue
            with self.session(write=True) as s:
                # only runs still unfinished now: one that ended (done) between the read and here keeps its status
                reaped += s.scalars(
                    update(Run)
                    .where(Run.id.in_(sorted(ids)), Run.status.in_(UNFINISHED))
                    .values(status="failed", finished_at=utcnow(), error=error, message=error)
                    .returning(Run.id)
                ).all()
        if reaped:
            log.warning("runs %s: their process ended or went silent without finishing; marked failed", sorted(reaped))
        return sorted(reaped)

    def cancel_requested(self, run_id: int) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def get_run(self, run_id: int) -> Run | None:
        with self.session() as s:
            return s.get(Run, run_id)

    def count_active_runs(self, started_by: str | None) -> int:
        """Runs queued or running that `started_by` started (None: those started without login)."""
        who = Run.started_by.is_(None) if started_by is None else Run.started_by == started_by
        with self.session() as s:
            return int(s.scalar(select(func.count(Run.id)).where(Run.status.in_(UNFINISHED), who)) or 0)

    def running_runs(self, started_by: str | None, kinds: tuple[str, ...] | None = None) -> list[Run]:
        """Runs now running that `started_by` started (None: those started without login), newest first."""
        who = Run.started_by.is_(None) if started_by is None else Run.started_by == started_by
        q = select(Run).where(Run.status == "running", who)
        if kinds is not None:
            q = q.where(Run.kind.in_(kinds))
        with self.session() as s:
            return list(s.scalars(q.order_by(Run.id.desc())))

    def running_here(self) -> int:
        """How many runs are running on this machine (by host name): the jobs that share its cores."""
        q = select(func.count()).select_from(Run).where(Run.status == "running", Run.host == socket.gethostname())
        with self.session() as s:
            return int(s.scalar(q) or 0)

    def list_runs(self, limit: int = 100) -> list[Run]:
        with self.session() as s:
            return list(s.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))

    def add_artifact(self, kind: str, path: str, run_id: int | None = None, meta: dict | None = None) -> int:
        with self.session(write=True) as s:
            art = Artifact(kind=kind, path=path, run_id=run_id, meta=meta or {})
            s.add(art)
            s.flush()
            return art.id

    def list_artifacts(
        self, kind: str | None = None, run_id: int | None = None, include_unfinished: bool = False
    ) -> list[Artifact]:
        """Usable artifacts: those registered outside a run, or by a run that finished (`done`).

        A run that is still going, failed, was cancelled or was killed may have registered files it never
        completed the set of; they are listed only with `include_unfinished=True` (for inspection and cleanup).
        """
        q = select(Artifact).order_by(Artifact.id)
        if not include_unfinished:
            q = q.outerjoin(Run, Run.id == Artifact.run_id).where(or_(Artifact.run_id.is_(None), Run.status == "done"))
        if kind:
            q = q.where(Artifact.kind == kind)
        if run_id is not None:
            q = q.where(Artifact.run_id == run_id)
        with self.session() as s:
            return list(s.scalars(q))
