"""What a review of the command-line contract found (2026-12-07, second session)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


def _runs(db) -> list[tuple]:
    """(id, status, progress, message) of every run, read-only: the command under test owns the database (a
    `Store` here would set up its schema while the command does: both may fail)."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("select id, status, progress, message from run order by id").fetchall()
        finally:
            con.close()
    except sqlite3.Error:  # not made yet
        return []


def _run_status(ws):
    runs = [r for r in _runs(ws / "scatterloop.db")]
    return runs[-1] if runs else None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_cancels_the_running_job_and_says_which(small_workspace, sig):
    ws = small_workspace.root
    small_workspace.store.dispose()
    cmd = [sys.executable, "-m", "scatterloop", "embed", "--workspace", str(ws), "--epochs", "100000", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # wait on state: the run is training (its bar has moved)
            run = _run_status(ws)
            if run is not None and run[1] == "running" and (run[2] or 0) > 0:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        else:
            pytest.fail("the embed run never started")
        os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C does: the whole process group
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err  # 130 for Ctrl-C, 143 for SIGTERM, as a shell reports them
    last = json.loads(out.strip().splitlines()[-1])
    run = _run_status(ws)
    assert last["status"] == "cancelled" and last["run_id"] == run[0] and last["exit_code"] == 128 + sig
    assert run[1] == "cancelled" and "interrupted" in run[3]


def test_a_plain_folder_is_not_made_a_workspace(tmp_path, capsys):
    from scatterloop.core.cli import main

    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    for argv in (["classify", "table"], ["embed"], ["report", "--out", str(tmp_path / "r.html")], ["export"]):
        extra = ["--out", str(tmp_path / "x")] if argv == ["export"] else []
        assert main([*argv, "--workspace", str(data), *extra]) == 2
        assert "is not a workspace" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt"]
    # a workspace older than its mark, its database elsewhere: its folders say what it is, with that database only
    for sub in ("originals", "thumbs", "runs", "cache", "exports"):
        (data / sub).mkdir()
    assert main(["classify", "table", "--workspace", str(data)]) == 2
    assert "is not a workspace" in capsys.readouterr().err
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCATTERLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
        assert main(["classify", "table", "--workspace", str(data)]) == 0


def test_report_writes_whole_or_not_at_all_and_evaluation_flags_are_not_ignored(small_workspace, tmp_path, capsys):
    from pathlib import Path

    from scatterloop.core.cli import main

    ws = ["--workspace", str(small_workspace.root), "--quiet"]
    out = tmp_path / "out" / "report.html"
    assert main(["report", *ws, "--out", str(out), "--kid-subsets", "5"]) == 0
    good = out.read_bytes()
    evaluations = [r for r in small_workspace.store.list_runs() if r.kind == "evaluate"]
    assert len(evaluations) == 1 and evaluations[0].params["kid_subsets"] == 5
    capsys.readouterr()
    # an evaluation flag without --evaluate runs that evaluation: here refused, never the older numbers under its name
    assert main(["report", *ws, "--out", str(out), "--extractor", "inception"]) == 2
    assert "Inception" in capsys.readouterr().err and out.read_bytes() == good
    real = Path.write_text

    def full_disk(self, text, *a, **kw):
        real(self, text[: len(text) // 2], *a, **kw)
        raise OSError(28, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "write_text", full_disk)
        assert main(["report", *ws, "--out", str(out)]) == 2
    assert f"--out {out}: No space left on device" in capsys.readouterr().err
    assert out.read_bytes() == good and sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


def test_simulate_refuses_what_it_would_ignore_and_makes_again_in_place(tmp_path, capsys):
    from scatterloop.core.cli import main

    out = tmp_path / "sp"
    for args, said in (
        (["--artifacts", "garbage"], "--artifacts: speckle has no hallucination variants"),
        (["--size", "64"], "--size: a speckle frame is its k-grid"),
    ):
        assert main(["simulate", "speckle", "-n", "1", "--out", str(out), *args]) == 2
        assert said in capsys.readouterr().err
    assert main(["simulate", "rings", "-n", "1", "--out", str(out), "--grid", "257"]) == 2  # typed at its default
    capsys.readouterr()
    assert main(["simulate", "rings", "-n", "1", "--out", str(out), "--grid", "513"]) == 2
    assert "--grid: the k-grid of a speckle frame, not of rings; use --size instead" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())  # nothing written for a refused request
    for _ in range(2):  # the same frames made twice: described once each
        assert main(["simulate", "rings", "-n", "2", "--size", "32", "--out", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert sorted(r["file_name"] for r in rows) == ["rings_0_00000.tif", "rings_0_00001.tif"]


def test_simulate_on_a_full_disk_leaves_no_cut_frame_and_names_the_file(tmp_path, monkeypatch, capsys):
    import tifffile

    from scatterloop.core.cli import main

    real, calls = tifffile.imwrite, []

    def full(path, *a, **kw):
        calls.append(path)
        if len(calls) == 2:
            open(path, "wb").write(b"II*\0cut")
            raise OSError(28, "No space left on device")
        return real(path, *a, **kw)

    monkeypatch.setattr(tifffile, "imwrite", full)
    out = tmp_path / "sim"
    assert main(["simulate", "rings", "-n", "3", "--size", "32", "--out", str(out)]) == 2
    assert "rings_0_00001.tif: not written (No space left on device)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["metadata.jsonl", "rings_0_00000.tif"]
    assert len((out / "metadata.jsonl").read_text().splitlines()) == 1


def test_bench_speckle_refuses_what_it_cannot_run(capsys):
    from scatterloop.core.cli import main

    for args, said in (
        (["--models", "physics"], "reads physics features"),
        (["--models", "tiny,resnet18"], "trains one network"),
        (["--models", "nonexistent"], "model: expected one of"),
        (["--n", "1"], "--n: bench speckle needs 2 or more"),
        (["--size", "0"], "--size: expected 8 to 8192 pixels"),
    ):
        assert main(["bench", "speckle", "--json", *args]) == 2, args
        assert said in capsys.readouterr().err


def test_a_read_only_workspace_is_said_so_in_one_line(small_workspace, monkeypatch):
    import errno
    from pathlib import Path

    from scatterloop.core.workspace import Workspace

    def read_only(self, *a, **kw):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "touch", read_only)
    with pytest.raises(
        ValueError, match="not writable \\(Read-only file system\\); scatterloop writes to a workspace it opens"
    ):
        Workspace.open(small_workspace.settings)


NEVER_CHECKS = """
import sys, tempfile, time
from scatterloop.core import benchmarks, cli
from scatterloop.core.jobs import run_job
from scatterloop.core.store import Store

def bench(quick=None):  # a benchmark's job: its work never asks whether to stop
    store = Store(f"sqlite:///{sys.argv[1]}")
    run_job(store, "classify", {}, lambda run_id, progress, should_stop: [time.sleep(0.1) for _ in range(6000)])
    return {"bench": "loop", "finished": True}

benchmarks.load_bench = lambda name: bench
cli.STOP_GRACE_S = 2
sys.exit(cli.main(["bench", "loop", "--quick", "--json"]))
"""


def test_one_sigterm_stops_a_job_that_never_checks(tmp_path):
    script, db = tmp_path / "never.py", tmp_path / "b.db"
    script.write_text(NEVER_CHECKS)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not ((runs := _runs(db)) and runs[0][1] == "running"):  # wait on state: the run is running
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)  # the job alone would take 10 minutes
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err  # 128 + SIGTERM
    assert "finished" not in out and "stopping the running job" in err
    assert _runs(db)[0][1] == "cancelled"


def test_a_callers_alarm_is_left_as_it_was(tmp_path):
    from scatterloop.core.cli import main

    signal.alarm(100)
    try:
        assert main(["simulate", "rings", "-n", "1", "--size", "16", "--out", str(tmp_path / "s"), "--quiet"]) == 0
        assert signal.alarm(0) > 90  # still set: the command neither used nor cancelled it
    finally:
        signal.alarm(0)


def test_the_wsgi_server_refuses_to_start_without_its_workspace():
    from scatterloop.core.config import Settings

    with pytest.raises(ValueError, match="SCATTERLOOP_WORKSPACE is not set"):
        Settings.from_env(env={}, require_workspace=True)
    assert str(Settings.from_env(env={"SCATTERLOOP_WORKSPACE": "/w"}, require_workspace=True).workspace) == "/w"
    assert str(Settings.from_env(env={}).workspace) == "workspace"  # the CLI's own default stays


@pytest.mark.parametrize(
    "argv, said",
    [
        (["classify", "table", "--run", "7"], "--run is for predict, not table"),
        (["classify", "queue", "--threshold", "0.5"], "--threshold is for prelabel, not queue"),
        (["classify", "predict", "--epochs", "3"], "--epochs is for train or pretrain, not predict"),
        (["classify", "table", "--size", "64"], "--size is for train or pretrain, not table"),  # as typed
        (["generate", "train", "-n", "4"], "-n is for sample, not train"),
        (["generate", "sample", "--lora", "x"], "--lora is for sd-lora, not domain"),
        (["users", "list", "--role", "admin"], "--role is for add, not list"),
    ],
)
def test_an_option_of_another_action_is_refused_not_ignored(tmp_path, capsys, argv, said):
    """`classify table --run 7` printed the latest round's table as if --run had been read."""
    from scatterloop.core.cli import main

    assert main([*argv, "--workspace", str(tmp_path / "nowhere"), "--json"]) == 2
    captured = capsys.readouterr()
    assert said in captured.err and len(captured.err.strip().splitlines()) == 1
    assert json.loads(captured.out.strip().splitlines()[-1])["exit_code"] == 2
    assert not (tmp_path / "nowhere").exists()  # refused before anything was opened


def test_options_of_the_action_and_defaults_given_again_pass(tmp_path, capsys):
    from scatterloop.core.cli import main

    # --scheme weighted is the default: given to any action it changes nothing, so it is no reason to refuse
    for argv in (["classify", "table", "--scheme", "weighted"], ["classify", "predict", "--run", "3", "--seed", "0"]):
        assert main([*argv, "--workspace", str(tmp_path / "nowhere")]) == 2
        err = capsys.readouterr().err
        assert "does not exist" in err and " is for " not in err  # past the option check, refused further on


def test_embed_place_refuses_a_new_maps_settings(small_workspace, capsys):
    """`embed --place --relayout` placed 0 images and ignored the relayout without a word."""
    from scatterloop.core.cli import main

    ws = str(small_workspace.root)
    assert main(["embed", "--workspace", ws, "--place", "--relayout", "--epochs", "3"]) == 2
    said = capsys.readouterr().err
    assert "--place: adds new images to the latest map as it is; --epochs, --relayout build a new map" in said
    assert [r.kind for r in small_workspace.store.list_runs(10)] == []
    assert main(["embed", "--workspace", ws, "--place", "--method", "pca"]) == 2  # read from the parser's options
    assert "--method builds a new map" in capsys.readouterr().err
    assert main(["embed", "--workspace", ws, "--place", "--method=umap", "--seed", "0"]) == 2  # typed at its default
    assert "--method, --seed build a new map" in capsys.readouterr().err


def test_users_list_or_remove_never_make_a_workspace_of_a_mistyped_path(tmp_path, capsys):
    from scatterloop.core.cli import main

    for argv in (["users", "list"], ["users", "remove", "ada"]):
        assert main([*argv, "--workspace", str(tmp_path / "typo")]) == 2
        assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()
    # its admin may be added before the first import: `users add` sets the workspace up
    assert main(["users", "add", "ada", "--role", "admin", "--no-password", "--workspace", str(tmp_path / "w")]) == 0
    assert main(["users", "list", "--workspace", str(tmp_path / "w"), "--json"]) == 0
    assert "ada" in capsys.readouterr().out
