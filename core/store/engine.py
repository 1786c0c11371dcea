"""Engine creation and schema upgrades.

SQLite runs in WAL mode with a busy timeout, and write transactions begin IMMEDIATE so that two
processes labelling at once queue for the write lock instead of failing on a stale snapshot.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, create_engine, event, inspect, text

from .models import SCHEMA_VERSION, Base, Meta

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
ADVISORY_KEY = 0x5CA77E2  # PostgreSQL advisory lock of schema set-up and upgrades


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and explicit transaction control."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")

    return engine


def upgrade(engine: Engine) -> int:
    """Bring the schema to `SCHEMA_VERSION` without losing rows; returns the version found before.

    New tables are created; columns added since an older version are added as nullable columns
    (every column added after version 1 is nullable by design). Data transforms between versions,
    when one is ever needed, go into `_MIGRATIONS`.
    """
    existing, found = _found(engine)
    if found == SCHEMA_VERSION and not _missing(engine, existing):
        return found  # nothing to do: opening a current workspace writes nothing
    if engine.dialect.name == "postgresql":
        # processes opening a new database at once (a server's workers, Celery workers) take turns before any
        # CREATE TABLE: two creating the same table at once failed with UniqueViolation on pg_type
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            try:
                existing, found = _found(engine)  # as the one before us left it
                if found == SCHEMA_VERSION and not _missing(engine, existing):
                    return found
                return _upgrade(engine, existing, found)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                lock.commit()
    return _upgrade(engine, existing, found)


def _found(engine: Engine) -> tuple[set[str], int]:
    """(the tables there, the schema version found: 0 for an empty database)."""
    existing = set(inspect(engine).get_table_names())
    found = 0
    if "meta" in existing:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).first()
            found = int(row[0]) if row else 1
    elif "image" in existing:
        found = 1  # version 1 predates the meta table's version row
    if found > SCHEMA_VERSION:
        raise ValueError(f"workspace schema version {found} is newer than this scatterloop ({SCHEMA_VERSION})")
    return existing, found


def _upgrade(engine: Engine, existing: set[str], found: int) -> int:
    Base.metadata.create_all(engine)
    with engine.connect().execution_options(immediate=True) as conn:
        if engine.dialect.name == "postgresql":  # one upgrader at a time (SQLite: BEGIN IMMEDIATE does this)
            conn.execute(text("LOCK TABLE meta IN EXCLUSIVE MODE"))
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                continue
            have = {c["name"] for c in inspect(conn).get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    ddl = col.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {ddl}'))
                    log.info("schema: added %s.%s", table.name, col.name)
        for version in range(max(found, 1) + 1, SCHEMA_VERSION + 1):
            for step in _MIGRATIONS.get(version, ()):
                step(conn)
        conn.execute(Meta.__table__.delete().where(Meta.key == "schema_version"))
        conn.execute(Meta.__table__.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        conn.commit()
    if found and found < SCHEMA_VERSION:
        log.info("schema upgraded from version %d to %d", found, SCHEMA_VERSION)
    return found


def _missing(engine: Engine, existing: set[str]) -> list[str]:
    """Tables and columns the models have and the database lacks (read-only)."""
    insp = inspect(engine)
    out = []
    for table in Base.metadata.sorted_tables:
        if table.name not in existing:
            out.append(table.name)
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        out += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return out


def _v2_group_old_events(conn) -> None:
    """Version 1 had no action ids: give each old event its own, so undo treats it as one action."""
    conn.execute(text("UPDATE label_event SET action_id = 'v1-' || id WHERE action_id IS NULL"))


_MIGRATIONS = {2: (_v2_group_old_events,)}
