"""Hostile command-line and job parameters: each is refused with one line on stderr naming the flag or field and
exit code 2, before anything is written or any work starts; nothing already in the workspace is touched."""

from __future__ import annotations

import pytest

from scatterloop.core.cli import main


def _refused(capsys, argv: list[str], *expected: str) -> str:
    """Run the CLI; assert exit code 2 and one line (per problem) on stderr that names `expected`."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own refusals exit rather than return
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2, (argv, rc, err)
    assert err and "Traceback" not in err, err
    for text in expected:
        assert text in err, (argv, err)
    return err


def test_empty_strings_are_refused_by_flag_not_read_as_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(capsys, ["import", "", "--workspace", "ws"], "paths: expected a value")
    _refused(capsys, ["export", "--workspace", "", "--out", "x"], "--workspace: expected a value")
    _refused(capsys, ["simulate", "rings", "-n", "1", "--out", " "], "--out: expected a value")
    assert list(tmp_path.iterdir()) == []  # no database, no frames in the current folder


def test_argparse_refusals_are_one_line(capsys):
    err = _refused(capsys, ["simulate", "rings", "-n", "1e30", "--out", "x"], "-n", "'1e30'")
    assert len(err.splitlines()) == 1 and "usage" not in err
    err = _refused(capsys, ["classify", "train", "--workspace", "w", "--recipe", "nope"], "--recipe", "'nope'")
    assert len(err.splitlines()) == 1


def test_cli_jobs_check_the_same_limits_as_submitted_jobs_before_anything_is_recorded(workspace, capsys):
    ws = str(workspace.root)
    store = workspace.store
    round_before = store.current_round()
    for argv, expected in (
        (["embed", "--workspace", ws, "--epochs", "-1"], "epochs = -1"),
        (["embed", "--workspace", ws, "--size", "100000"], "size = 100000"),
        (["embed", "--workspace", ws, "--size", "0"], "size = 0"),
        (["embed", "--workspace", ws, "--seed", "-1"], "seed = -1"),
        (["generate", "train", "--workspace", ws, "--preset", "test", "--steps", "0"], "steps = 0"),
        (["generate", "train", "--workspace", ws, "--preset", "test", "--resume", "-3"], "--resume: expected a round"),
        (["generate", "train", "--workspace", ws, "--preset", "test", "--seed", str(2**64)], "seed = "),
        (["classify", "train", "--workspace", ws, "--next-round", "--epochs", "0"], "epochs = 0"),
        (["classify", "train", "--workspace", ws, "--lr", "nan"], "lr must be a number"),
        (["classify", "pretrain", "--workspace", ws, "--epochs", "0"], "epochs = 0"),
        (["demo", "--workspace", ws, "--no-serve", "--n", "1000000000"], "n_per_pattern = 1e+09"),
        (["demo", "--workspace", ws, "--no-serve", "--size", "0"], "size = 0"),
    ):
        err = _refused(capsys, argv, expected)
        assert len(err.splitlines()) == 1, err
    assert store.list_runs() == [] and store.current_round() == round_before
    assert sorted(p.name for p in (workspace.root / "runs").iterdir()) == []  # no runs/-3 made for --resume


def test_time_caps_bind_submitted_jobs_not_the_owner_at_the_command_line():
    from scatterloop.core.job_limits import JobRefused, check_params

    check_params("embed", {"epochs": 10**6}, time_caps=False)
    with pytest.raises(JobRefused, match="embed: epochs = 1e\\+06 is outside"):
        check_params("embed", {"epochs": 10**6})
    with pytest.raises(JobRefused, match="embed: size = 100000 is outside"):  # memory caps bind everyone
        check_params("embed", {"size": 100_000}, time_caps=False)


def test_simulate_refuses_sizes_counts_and_seeds_it_cannot_make(tmp_path, capsys):
    out = str(tmp_path / "sim")
    for argv, expected in (
        (["--size", "0"], "--size: expected 8 to 8192 pixels, got 0"),
        (["--size", "-64"], "--size: expected 8 to 8192 pixels, got -64"),
        (["--size", "10000000"], "--size: expected 8 to 8192 pixels, got 10000000"),
        (["-n", "1000000000"], "-n: expected 1 to 1000000 frames, got 1000000000"),
        (["--seed", "-1"], "--seed: expected a non-negative integer, got -1"),
    ):
        err = _refused(capsys, ["simulate", "rings", "-n", "1", "--out", out, "--size", "16", *argv], expected)
        assert len(err.splitlines()) == 1
    assert not (tmp_path / "sim").exists() or not any((tmp_path / "sim").glob("*.tif"))


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--port", "-1"], "--port: expected 1 to 65535, got -1"),
        (["--port", "0"], "--port: expected 1 to 65535, got 0"),
        (["--port", "70000"], "--port: expected 1 to 65535, got 70000"),
        (["--host", "0.0.0.0", "--insecure", "--debug"], "--debug: refusing to listen on 0.0.0.0"),
        (["--host", "0.0.0.0", "--login", "header", "--debug"], "--debug: refusing to listen on 0.0.0.0"),
    ],
)
def test_serve_refuses_ports_and_a_shared_debugger_before_anything_is_made(tmp_path, capsys, flags, expected):
    for command in (["serve"], ["demo", "--size", "16", "--n", "1"]):
        err = _refused(capsys, [*command, "--workspace", str(tmp_path / "ws"), *flags], expected)
        assert len(err.splitlines()) == 1
        assert not (tmp_path / "ws").exists()


def test_junk_requests_to_dash_routes_get_4xx_not_500(workspace):
    from scatterloop.dashboard.app import create_app

    app = create_app(workspace.settings)
    client = app.server.test_client()
    try:
        for url in (
            "/_dash-component-suites/dash/../../../etc/passwd",
            "/_dash-component-suites/dash/deps/..%2f..%2f..%2fetc%2fpasswd",
            "/_dash-component-suites/nope/x.js",
        ):
            assert client.get(url).status_code == 404, url
        for body in ({}, [], {"output": "x.y", "inputs": [], "changedPropIds": []}):
            assert client.post("/_dash-update-component", json=body).status_code == 400, body
        deps = client.get("/_dash-dependencies").get_json()
        jobs = next(d for d in deps if d["output"].startswith("jobs-status"))  # one input; none given
        wrong_arity = {"output": jobs["output"], "outputs": {"id": "jobs-status", "property": "children"}}
        wrong_arity |= {"inputs": [], "state": [], "changedPropIds": []}
        assert client.post("/_dash-update-component", json=wrong_arity).status_code == 400
        assert client.get("/").status_code == 200
    finally:
        app.server.config["SCATTERLOOP_SERVICES"].store.dispose()


def test_a_refused_round_from_the_train_tab_opens_no_new_round(workspace):
    from scatterloop.callbacks import train
    from scatterloop.callbacks.services import make_services

    services = make_services(workspace.settings)
    before = services.store.current_round()
    values = dict(task="realism", models=["tiny"], epochs=0, next_round=True)
    message = train.run_round(services, values, lambda *_: None)
    assert message.startswith("Not started: classify: epochs = 0 is outside"), message
    assert services.store.current_round() == before and services.store.list_runs() == []


def test_report_and_export_never_write_over_the_workspace(small_workspace, capsys):
    root = small_workspace.root
    db = (root / "scatterloop.db").read_bytes()
    originals = sorted(p.name for p in (root / "originals").rglob("*"))
    for argv in (
        ["report", "--workspace", str(root), "--out", str(root / "scatterloop.db")],
        ["report", "--workspace", str(root), "--out", str(root / "originals" / "r.html")],
        ["export", "--workspace", str(root), "--out", str(root)],
        ["export", "--workspace", str(root), "--out", str(root / "originals")],
    ):
        err = _refused(capsys, argv, "--out: ", "is inside the workspace")
        assert len(err.splitlines()) == 1
    assert (root / "scatterloop.db").read_bytes()[:16] == db[:16] == b"SQLite format 3\x00"
    assert sorted(p.name for p in (root / "originals").rglob("*")) == originals
    assert small_workspace.store.list_runs() == []  # refused before an evaluation or an export run
    assert small_workspace.check_output(root / "exports" / "r.html") == (root / "exports" / "r.html").resolve()


def test_round_and_run_numbers_beyond_the_store_are_refused_by_flag(small_workspace, capsys):
    ws = str(small_workspace.root)
    big = str(10**23)
    for argv, flag in (
        (["export", "--workspace", ws, "--out", ws + "/exports/x", "--round", big], "--round"),
        (["export", "--workspace", ws, "--out", ws + "/exports/x", "--round", "-1"], "--round"),
        (["classify", "predict", "--workspace", ws, "--run", big], "--run"),
        (["classify", "predict", "--workspace", ws, "--round", "0"], "--round"),
    ):
        err = _refused(capsys, argv, f"argument {flag}: expected a round or run number")
        assert len(err.splitlines()) == 1
    assert small_workspace.store.list_runs() == []


def test_bench_simulate_refuses_what_simulate_refuses(capsys):
    _refused(capsys, ["bench", "simulate", "--n", "2", "--size", "0"], "--size: expected 8 to 8192 pixels, got 0")
    _refused(capsys, ["bench", "simulate", "--n", "2", "--size", "16", "--seed", "-5"], "--seed: expected")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04broken zip"])
def test_inception_weights_that_are_not_weights_are_one_line(tmp_path, content):
    from scatterloop.core.evaluate.features import InceptionFeatures

    weights = tmp_path / "inception.pth"
    weights.write_bytes(content)
    with pytest.raises(ValueError, match="inception.pth: not Inception-v3 weights") as exc:
        InceptionFeatures(weights)
    assert "\n" not in str(exc.value)


def test_commands_on_a_workspace_refuse_a_missing_one_instead_of_making_it(tmp_path, capsys):
    missing = str(tmp_path / "typo" / "ws")
    for argv in (
        ["export", "--workspace", missing, "--out", str(tmp_path / "out")],
        ["classify", "table", "--workspace", missing],
        ["report", "--workspace", missing, "--out", str(tmp_path / "r.html")],
        ["embed", "--workspace", missing],
    ):
        err = _refused(capsys, argv, f"--workspace: {missing} does not exist")
        assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("x")
    _refused(capsys, ["classify", "table", "--workspace", str(tmp_path / "afile")], "must be a directory")


def test_an_unusable_workspace_database_is_one_line(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "scatterloop.db").write_bytes(b"<html>not a database</html>" * 100)
    err = _refused(capsys, ["classify", "table", "--workspace", str(ws)], "workspace database: file is not a database")
    assert len(err.splitlines()) == 1
    monkeypatch.setenv("SCATTERLOOP_DATABASE_URL", "nope://user:secret@host/db")
    err = _refused(capsys, ["classify", "table", "--workspace", str(ws)], "workspace database: ")
    assert len(err.splitlines()) == 1 and "secret" not in err


def test_worker_refuses_an_unknown_broker_transport(workspace, capsys):
    pytest.importorskip("kombu")
    for url in ("nope://x", "localhost:6379"):
        argv = ["worker", "--workspace", str(workspace.root), "--broker-url", url]
        err = _refused(capsys, argv, "--broker-url: unknown transport")
        assert len(err.splitlines()) == 1


def test_bench_options_outside_their_range_are_refused_by_flag_before_any_work(capsys):
    _refused(capsys, ["bench", "embed", "--n", "-3"], "bench", "--n: expected 1 to 1000000, got -3")
    _refused(capsys, ["bench", "train", "--epochs", "0"], "--epochs: expected 1 to 100000, got 0")
    _refused(capsys, ["bench", "loop", "--seed", "-1"], "--seed: expected 0 to")
    _refused(capsys, ["bench", "generate", "--baseline-n", "-1"], "--baseline-n: expected 0 to")


def test_a_device_or_weights_file_that_cannot_be_used_is_refused_on_one_line(small_workspace, tmp_path, capsys):
    """Before: `--device cuda` on a machine without a GPU, `--device bogus`, or `--pretrained` naming a file that
    holds no weights ended in a driver's RuntimeError or an UnpicklingError and 40-110 lines of traceback."""
    from scatterloop.core.cli import main

    ws = str(small_workspace.root)
    cands = [img.id for img, _ in small_workspace.store.list_images() if img.source == "generated"]
    small_workspace.store.add_labels(cands[:3], "realistic", "ada")
    small_workspace.store.add_labels(cands[3:], "fake", "ada")
    (tmp_path / "not-weights.pth").write_bytes(b"SQLite format 3\0" + bytes(200))
    train = ["classify", "train", "--workspace", ws, "--epochs", "1", "--input-size", "32", "--quiet"]
    for extra, said in (
        (["--models", "tiny", "--device", "cuda:99"], "device cuda:99: "),
        (["--models", "tiny", "--device", "bogus"], "device: expected cpu, cuda, cuda:N or mps, got 'bogus'"),
        (
            ["--models", "resnet18", "--pretrained", f"resnet18={tmp_path / 'not-weights.pth'}"],
            "not readable as resnet18 weights",
        ),
    ):
        assert main(train + extra) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err


def test_prelabel_names_the_person_whose_labels_the_suggestions_become(workspace, capsys):
    """Before: without --annotator the accepted suggestions became labels of a person called "prelabel"."""
    from scatterloop.core.cli import main

    assert main(["classify", "prelabel", "--workspace", str(workspace.root)]) == 2
    assert "--annotator NAME" in capsys.readouterr().err
    assert workspace.store.current_labels() == {}


def test_a_usage_error_with_json_still_ends_in_one_json_object(capsys):
    """The contract: with --json the last stdout line is one JSON object, also when argparse refuses a value."""
    import json

    from scatterloop.core.cli import main

    for argv in (["simulate", "rings", "-n", "nan", "--json"], ["--json", "polar", "x.tif", "--max-pixels", "x"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        captured = capsys.readouterr()
        said = json.loads(captured.out.strip().splitlines()[-1])
        assert said["exit_code"] == 2 and "argument -" in said["error"] and len(captured.err.splitlines()) == 1
    with pytest.raises(SystemExit):  # the top parser's own error, and --json abbreviated as argparse allows
        main(["export", "--workspace", "w", "--out", "o", "--js", "--bogus"])
    said = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert said == {"command": "export", "error": "unrecognized arguments: --bogus", "exit_code": 2}
    with pytest.raises(SystemExit):
        main(["simulate", "rings", "-n", "nan"])
    assert capsys.readouterr().out == ""  # without --json, stdout stays empty
