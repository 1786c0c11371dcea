"""Run and artifact records of the store: every long job, its status, progress, cancel flag and outputs."""

from __future__ import annotations

from sqlalchemy import select

from .models import Artifact, Run, utcnow


class RunRecords:
    """Part of `Store` (mixed in): uses its `session()`."""

    def create_run(self, kind: str, params: dict) -> int:
        with self.session(write=True) as s:
            run = Run(kind=kind, params=params, status="queued")
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

    def reap_interrupted(self) -> list[int]:
        """Mark as failed the running runs of this machine whose process is gone (killed, crashed, rebooted);
        returns their ids. Runs of other machines, and runs recorded before pids were, are left alone."""
        import socket

        import psutil

        host = socket.gethostname()
        with self.session() as s:
            live = s.execute(
                select(Run.id, Run.pid).where(Run.status.in_(("running", "queued")), Run.host == host)
            ).all()

        def ended(pid: int) -> bool:
            try:
                return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # died, not yet reaped by its parent
            except psutil.NoSuchProcess:
                return True

        gone = [rid for rid, pid in live if pid is not None and ended(pid)]
        for rid in gone:
            self.update_run(
                rid,
                status="failed",
                finished_at=utcnow(),
                error="interrupted: the process running it ended without finishing (killed or crashed)",
            )
        return gone

    def cancel_requested(self, run_id: int) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def get_run(self, run_id: int) -> Run | None:
        with self.session() as s:
            return s.get(Run, run_id)

    def list_runs(self, limit: int = 100) -> list[Run]:
        with self.session() as s:
            return list(s.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))

    def add_artifact(self, kind: str, path: str, run_id: int | None = None, meta: dict | None = None) -> int:
        with self.session(write=True) as s:
            art = Artifact(kind=kind, path=path, run_id=run_id, meta=meta or {})
            s.add(art)
            s.flush()
            return art.id

    def list_artifacts(self, kind: str | None = None, run_id: int | None = None) -> list[Artifact]:
        q = select(Artifact).order_by(Artifact.id)
        if kind:
            q = q.where(Artifact.kind == kind)
        if run_id is not None:
            q = q.where(Artifact.run_id == run_id)
        with self.session() as s:
            return list(s.scalars(q))
