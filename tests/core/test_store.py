"""The store: latest-human-label rule, never-overwrite, undo appends, schema upgrades, two writers at once."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from scatterloop.core.store import SCHEMA_VERSION, UNLABELED, ImageFilter, Store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A fresh empty database: SQLite in tmp, or a new PostgreSQL database when a test server is given."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    import os
    import uuid

    base = os.environ.get("SCATTERLOOP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL test server (make test starts one through scripts/with-postgres.sh)")
    from sqlalchemy import create_engine, text

    name = "sl_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _images(store: Store, n: int, source: str = "generated") -> list[int]:
    return [
        store.add_image(
            sha256=f"{i:064x}", path=f"p{i}", original_name=f"f{i}", source=source, height=8, width=8, dtype="int32"
        )
        for i in range(n)
    ]


def test_latest_human_label_wins_and_model_never_overwrites(store_url):
    store = Store(store_url)
    a, b = _images(store, 2)
    store.add_labels([a], "fake", "ada")
    store.add_labels([a], "realistic", "bob")
    store.add_labels([a, b], "fake", "resnet50", origin="model", confidence=[0.9, 0.8])
    labels = store.current_labels()
    assert labels[a].label == "realistic" and labels[a].annotator == "bob"
    assert b not in labels  # a model suggestion is not a label
    assert store.count_events("model") == 2 and store.count_events("human") == 2
    assert store.count_images(ImageFilter(label=UNLABELED)) == 1
    assert store.count_images(ImageFilter(label="realistic")) == 1


def test_undo_appends_and_restores_previous_labels(store_url):
    store = Store(store_url)
    a, b, c = _images(store, 3)
    store.add_labels([a], "fake", "ada")
    store.add_labels([a, b, c], "realistic", "ada")  # one bulk action
    store.add_labels([c], "fake", "bob")  # someone else's action is not ada's to undo
    before = store.count_events()
    assert store.undo_last("ada") == 2
    labels = store.current_labels()
    assert labels[a].label == "fake"  # back to ada's earlier label
    assert labels[b].label is None  # back to unlabeled
    assert labels[c].label == "fake" and labels[c].annotator == "bob"  # bob labelled c since: his label stands
    assert store.count_events() == before + 2  # nothing deleted
    assert store.undo_last("ada") == 1  # then the first action
    assert store.current_labels()[a].label is None
    assert store.undo_last("ada") == 0


def test_annotator_required_and_origin_checked(store_url):
    store = Store(store_url)
    (a,) = _images(store, 1)
    with pytest.raises(ValueError, match="annotator"):
        store.add_labels([a], "fake", "  ")
    with pytest.raises(ValueError, match="origin"):
        store.add_labels([a], "fake", "x", origin="robot")
    with pytest.raises(ValueError, match="source"):
        store.add_image(sha256="f" * 64, path="p", original_name="f", source="dreamed", height=8, width=8, dtype="u1")


V1_DDL = """
CREATE TABLE image (id INTEGER PRIMARY KEY, sha256 VARCHAR(64) UNIQUE, path TEXT, frame INTEGER, dataset TEXT,
  original_name TEXT, source VARCHAR(16), pattern VARCHAR(64), description TEXT, height INTEGER, width INTEGER,
  dtype VARCHAR(16), masked_fraction FLOAT, run_id INTEGER, prompt TEXT, seed INTEGER, round INTEGER,
  provenance JSON, created_at DATETIME);
CREATE TABLE label_event (id INTEGER PRIMARY KEY, image_id INTEGER REFERENCES image(id), label VARCHAR(64),
  annotator VARCHAR(128), origin VARCHAR(8), confidence FLOAT, round INTEGER, created_at DATETIME);
CREATE TABLE run (id INTEGER PRIMARY KEY, kind VARCHAR(32), params JSON, status VARCHAR(16), progress FLOAT,
  message TEXT, error TEXT, created_at DATETIME, started_at DATETIME, finished_at DATETIME);
INSERT INTO image VALUES (1, '%s', 'originals/x.tif', 0, NULL, 'x.tif', 'experimental', 'rings', 'old rings',
  64, 64, 'int32', 0.1, NULL, NULL, 3, NULL, '{}', '2025-01-01 00:00:00');
INSERT INTO label_event VALUES (1, 1, 'realistic', 'ada', 'human', NULL, 1, '2025-01-01 00:00:00');
INSERT INTO label_event VALUES (2, 1, 'fake', 'ada', 'human', NULL, 1, '2025-01-02 00:00:00');
""" % ("a" * 64)


def test_version_1_workspace_opens_without_losing_data(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(V1_DDL)
    con.close()
    store = Store(f"sqlite:///{path}")
    assert store.schema_found == 1
    img = store.get_image(1)
    assert img.description == "old rings" and img.seed == 3 and img.truth is None
    assert store.current_labels()[1].label == "fake"
    assert store.undo_last("ada") == 1  # old events got action ids: undo works on them
    assert store.current_labels()[1].label == "realistic"
    assert store.list_rounds() == [] and store.list_artifacts() == []  # new tables exist
    store.start_run(store.create_run("x", {}))  # run columns added since (v4 pid/host, v5 pid_started) exist
    assert store.reap_interrupted() == [] and store.list_runs()[0].pid_started is not None
    store.dispose()
    assert Store(f"sqlite:///{path}").schema_found == SCHEMA_VERSION  # stamped


def _label_many(url: str, ids: list[int], annotator: str) -> None:
    store = Store(url)
    for i in ids:
        store.add_labels([i], "realistic" if i % 2 else "fake", annotator)
        store.current_labels([i])  # interleave reads with the other process's writes
    store.dispose()


def test_two_processes_labelling_at_once_lose_nothing(store_url):
    url = store_url
    store = Store(url)
    ids = _images(store, 150)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_label_many, args=(url, ids, name)) for name in ("ada", "bob")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with store.session() as s:
        from sqlalchemy import func, select

        from scatterloop.core.store import LabelEvent

        per = dict(s.execute(select(LabelEvent.annotator, func.count()).group_by(LabelEvent.annotator)).all())
        pairs = s.execute(select(LabelEvent.image_id, LabelEvent.annotator)).all()
    assert per == {"ada": 150, "bob": 150}  # every event of both writers is there
    assert len(set(pairs)) == 300  # one per image per annotator, none duplicated
    assert len(store.current_labels()) == 150
    store.dispose()


def test_a_column_added_without_a_version_bump_is_still_added(tmp_path):
    path = tmp_path / "db.sqlite"
    Store(f"sqlite:///{path}").dispose()
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE run DROP COLUMN cancel_requested")
    con.commit()
    con.close()
    store = Store(f"sqlite:///{path}")
    run_id = store.create_run("x", {})
    assert store.cancel_requested(run_id) is False


ANNOTATORS, ACTIONS, POOL = 8, 60, 10


def _plan(seed: int, ids: list[int]) -> list[list[int] | None]:
    """An annotator's actions: image lists to label, None for an undo (every third action)."""
    import random

    rng = random.Random(seed)
    return [None if k % 3 == 2 else rng.sample(ids, rng.randint(1, 3)) for k in range(ACTIONS)]


def _annotate(url: str, ids: list[int], name: str, seed: int, barrier) -> None:
    store = Store(url)
    barrier.wait(60)  # everyone starts together, so labels and undos of the same images overlap
    for k, images in enumerate(_plan(seed, ids)):
        if images is None:
            store.undo_last(name)
        else:
            store.add_labels(images, ("fake", "realistic", "background")[k % 3], name)
    store.dispose()


def _undos_over_newer_labels(store: Store) -> int:
    """Undo events that replaced a label newer than the event they undo, still standing at that moment."""
    from collections import defaultdict

    from sqlalchemy import select

    from scatterloop.core.store import LabelEvent

    with store.session() as s:
        events = s.execute(
            select(LabelEvent.id, LabelEvent.image_id, LabelEvent.action_id, LabelEvent.undoes)
            .where(LabelEvent.origin == "human")
            .order_by(LabelEvent.id)
        ).all()
    undone_at: dict[str, int] = {}  # action -> id of its first undo event
    per_image = defaultdict(list)
    for e in events:
        if e.undoes is not None:
            undone_at.setdefault(e.undoes, e.id)
        per_image[e.image_id].append(e)
    bad = 0
    for evs in per_image.values():
        for u in (e for e in evs if e.undoes is not None):
            target = max(e.id for e in evs if e.action_id == u.undoes and e.id < u.id)
            newer = [
                e
                for e in evs
                if target < e.id < u.id and e.undoes is None and undone_at.get(e.action_id, u.id) >= u.id
            ]
            bad += bool(newer)
    return bad


def test_concurrent_annotators_with_undos_never_undo_over_a_newer_label(store_url):
    store = Store(store_url)
    ids = _images(store, POOL)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(ANNOTATORS)
    names = [f"annotator{k}" for k in range(ANNOTATORS)]
    procs = [ctx.Process(target=_annotate, args=(store_url, ids, n, k, barrier)) for k, n in enumerate(names)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    from sqlalchemy import func, select

    from scatterloop.core.store import LabelEvent

    with store.session() as s:
        labelled = dict(
            s.execute(
                select(LabelEvent.annotator, func.count())
                .where(LabelEvent.undoes.is_(None))
                .group_by(LabelEvent.annotator)
            ).all()
        )
        undos = s.scalar(select(func.count(func.distinct(LabelEvent.undoes))))
    planned = {n: sum(len(a) for a in _plan(k, ids) if a is not None) for k, n in enumerate(names)}
    assert labelled == planned  # no label lost
    assert undos > 0 and _undos_over_newer_labels(store) == 0
    store.dispose()
