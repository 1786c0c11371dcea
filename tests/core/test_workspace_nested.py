"""A workspace never lies inside another: the outer one's cache trimming deleted the inner one's originals."""

from __future__ import annotations

import pytest

from scatterloop.core.config import Settings
from scatterloop.core.workspace import Workspace


@pytest.mark.parametrize("inner", ["cache/polar", "originals", "runs/3/x", "exports"])
def test_a_workspace_inside_another_is_refused(tmp_path, inner, capsys):
    from scatterloop.core.cli import main

    outer = Workspace.open(Settings(workspace=tmp_path / "outer"))
    outer.store.dispose()
    with pytest.raises(ValueError, match=r"inside the workspace .*outer; a workspace cannot hold another"):
        Workspace.open(Settings(workspace=tmp_path / "outer" / inner))
    assert main(["users", "list", "--workspace", str(tmp_path / "outer" / inner)]) == 2
    assert "a workspace cannot hold another" in capsys.readouterr().err
    assert not (tmp_path / "outer" / inner / "scatterloop.db").exists()
    beside = Workspace.open(Settings(workspace=tmp_path / "beside"))  # next to it is fine
    beside.store.dispose()


def test_serve_refuses_a_file_or_nested_workspace_before_it_prints_an_address(tmp_path, capsys):
    """Before: `serve --workspace <a file>` printed http://127.0.0.1:PORT/ as if serving, then a worker traceback."""
    from scatterloop.core.cli import main

    (tmp_path / "afile").write_text("x")
    assert main(["serve", "--workspace", str(tmp_path / "afile"), "--port", "8799"]) == 2
    err = capsys.readouterr().err
    assert "the workspace must be a directory" in err and "http://" not in err


def test_simulate_never_writes_into_a_workspace(tmp_path, capsys):
    from scatterloop.core.cli import main

    Workspace.open(Settings(workspace=tmp_path / "ws")).store.dispose()
    for out in (tmp_path / "ws", tmp_path / "ws" / "originals"):
        assert main(["simulate", "rings", "-n", "1", "--size", "32", "--out", str(out), "--quiet"]) == 2
        assert "inside the workspace" in capsys.readouterr().err
    assert not list((tmp_path / "ws").glob("*.jsonl")) and not list((tmp_path / "ws" / "originals").iterdir())


def test_folders_that_only_share_the_workspace_names_are_no_workspace(tmp_path):
    """A project folder of its own with originals/, runs/, cache/... but no workspace in it holds workspaces."""
    for sub in ("originals", "thumbs", "runs", "cache", "exports"):
        (tmp_path / "proj" / sub).mkdir(parents=True)
    inner = Workspace.open(Settings(workspace=tmp_path / "proj" / "xrd-ws"))
    inner.store.dispose()


def test_serve_refuses_a_broken_database_before_it_prints_an_address(tmp_path, capsys):
    """Review 2026-12-07: a corrupt database was first opened in gunicorn's worker, after the address was printed:
    a 35-line traceback, "Worker failed to boot", exit code 3 and no JSON line."""
    import json

    from scatterloop.core.cli import main

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "scatterloop.db").write_text("not a database")
    assert main(["serve", "--workspace", str(tmp_path / "ws"), "--port", "8799", "--json"]) == 2
    captured = capsys.readouterr()
    assert "http://" not in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
    said = json.loads(captured.out.strip().splitlines()[-1])
    assert said["command"] == "serve" and said["error"].startswith("workspace database:")
