"""Users, roles and their checks (core.auth), the users table's migration, and `scatterloop users`."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from scatterloop.core import auth
from scatterloop.core.auth import Identity, can_cancel, cancel_run
from scatterloop.core.cli import main
from scatterloop.core.config import Settings
from scatterloop.core.store import SCHEMA_VERSION, Store
from scatterloop.core.workspace import Workspace
from tests.core.test_store import store_url  # noqa: F401  (the SQLite + PostgreSQL fixture)


def test_passwords_are_argon2_hashes_and_verify(workspace):
    store = workspace.store
    auth.add_user(store, "ada", "annotator", "correct horse")
    row = store.get_user("ada")
    assert row.password_hash.startswith("$argon2id$") and "correct horse" not in row.password_hash
    assert auth.authenticate(store, "ada", "correct horse") == Identity("ada", "annotator")
    assert auth.authenticate(store, "ada", "wrong horse!") is None
    assert auth.authenticate(store, "nobody", "correct horse") is None
    with pytest.raises(ValueError, match="at least 8"):
        auth.add_user(store, "bob", "viewer", "short")
    with pytest.raises(ValueError, match="exists already"):
        auth.add_user(store, "ada", "viewer", "another password")
    with pytest.raises(ValueError, match="role: expected one of"):
        auth.add_user(store, "cy", "owner", "a long password")
    auth.add_user(store, "proxy-only", "annotator", None)  # only a trusted proxy can name this user
    assert auth.authenticate(store, "proxy-only", "") is None
    assert auth.authenticate(store, "proxy-only", "x" * 8) is None


def test_proxy_names_map_to_roles_and_strangers_only_view(workspace):
    auth.add_user(workspace.store, "grace", "admin", None)
    assert auth.proxy_identity(workspace.store, "grace") == Identity("grace", "admin")
    assert auth.proxy_identity(workspace.store, "stranger") == Identity("stranger", "viewer")
    assert auth.proxy_identity(workspace.store, "") is None and auth.proxy_identity(workspace.store, "a\nb") is None


def test_who_may_cancel_which_run(workspace):
    store = workspace.store
    mine = store.create_run("embed", {}, started_by="ada")
    theirs = store.create_run("embed", {}, started_by="bob")
    anonymous = store.create_run("embed", {})
    ada, viewer, admin = Identity("ada", "annotator"), Identity("vic", "viewer"), Identity("root", "admin")
    run = store.get_run
    assert can_cancel(ada, run(mine)) and not can_cancel(ada, run(theirs)) and not can_cancel(ada, run(anonymous))
    assert not any(can_cancel(viewer, run(r)) for r in (mine, theirs, anonymous))
    assert all(can_cancel(admin, run(r)) and can_cancel(None, run(r)) for r in (mine, theirs, anonymous))
    with pytest.raises(PermissionError, match="started by bob; only an admin"):
        cancel_run(store, ada, theirs)
    assert not store.cancel_requested(theirs)
    assert cancel_run(store, admin, theirs) and store.cancel_requested(theirs)
    assert cancel_run(store, ada, mine) and store.cancel_requested(mine)
    store.update_run(anonymous, status="done")
    assert cancel_run(store, admin, anonymous) is False  # finished runs are left alone
    with pytest.raises(ValueError, match="no such run"):
        cancel_run(store, admin, 999)


def test_the_last_admin_cannot_be_removed(workspace):
    auth.add_user(workspace.store, "root", "admin", "a long password")
    with pytest.raises(ValueError, match="last admin"):
        workspace.store.remove_user("root")
    auth.add_user(workspace.store, "root2", "admin", "a long password")
    workspace.store.remove_user("root")
    assert [u.name for u in workspace.store.list_users()] == ["root2"]


def test_a_version_5_workspace_gains_the_users_table_and_keeps_its_rows(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    run_id = store.create_run("embed", {"a": 1})
    store.dispose()
    con = sqlite3.connect(tmp_path / "old.db")  # make it what version 5 wrote: no users, no run.started_by
    con.execute("DROP TABLE app_user")
    con.execute("ALTER TABLE run DROP COLUMN started_by")
    con.execute("ALTER TABLE label_event DROP COLUMN domain")  # since version 7
    con.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    con.commit()
    con.close()
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    assert store.schema_found == 5 and SCHEMA_VERSION == 8
    assert store.get_run(run_id).params == {"a": 1} and store.get_run(run_id).started_by is None
    from sqlalchemy import inspect

    assert "domain" in {c["name"] for c in inspect(store.engine).get_columns("label_event")}  # version 7's column
    assert store.model_domains() == {}
    auth.add_user(store, "ada", "annotator", "a long password")
    assert store.count_users() == 1
    assert store.session_secret() == store.session_secret() and len(store.session_secret()) == 64
    store.dispose()


def test_users_cli_add_list_remove(tmp_path, capsys, monkeypatch):
    ws = str(tmp_path / "ws")
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-password\n"))
    assert main(["users", "add", "ada", "--role", "admin", "--password-stdin", "--workspace", ws, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "command": "users add",
        "name": "ada",
        "role": "admin",
        "password": True,
    }
    assert main(["users", "add", "bob", "--role", "viewer", "--no-password", "--workspace", ws]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--workspace", ws, "--json"]) == 0
    users = json.loads(capsys.readouterr().out.splitlines()[-1])["users"]
    assert [(u["name"], u["role"], u["password"]) for u in users] == [("ada", "admin", True), ("bob", "viewer", False)]
    store = Workspace.open(Settings(workspace=tmp_path / "ws")).store
    assert auth.authenticate(store, "ada", "s3cret-password") == Identity("ada", "admin")
    assert main(["users", "remove", "bob", "--workspace", ws]) == 0
    assert main(["users", "remove", "ada", "--workspace", ws]) == 2  # the last admin
    assert "last admin" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: the role must be one of the three
        main(["users", "add", "x", "--role", "owner", "--no-password", "--workspace", ws])
    capsys.readouterr()
    both = ["users", "add", "eve", "--role", "admin", "--no-password", "--password-stdin", "--workspace", ws]
    assert main(both) == 2 and "choose one" in capsys.readouterr().err  # never an admin without a password
    monkeypatch.setattr("getpass.getpass", lambda prompt="": (_ for _ in ()).throw(EOFError()))
    assert main(["users", "add", "dan", "--role", "admin", "--workspace", ws]) == 2  # a script: no terminal
    assert "no terminal to ask for the password" in capsys.readouterr().err


def test_serve_with_password_login_needs_a_user_and_may_bind_beyond_loopback(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    rc = main(["serve", "--workspace", ws, "--host", "0.0.0.0", "--login", "password"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "has no users" in err and "users add" in err
    with pytest.raises(ValueError, match="SCATTERLOOP_LOGIN: expected one of"):
        Settings.from_env(workspace=ws, env={"SCATTERLOOP_LOGIN": "yes"})


def test_cli_roles_equal_the_store_roles():
    from scatterloop.core import cli_names
    from scatterloop.core.store import ROLES

    assert cli_names.ROLES == tuple(ROLES)


def test_users_and_run_owners_on_every_backend(store_url):  # noqa: F811
    store = Store(store_url)
    auth.add_user(store, "ada", "annotator", "a long password")
    auth.add_user(store, "ada", "admin", "another long one", replace=True)
    assert auth.authenticate(store, "ada", "another long one") == Identity("ada", "admin")
    run_id = store.create_run("embed", {}, started_by="ada")
    assert store.get_run(run_id).started_by == "ada"
    assert store.session_secret() == Store(store_url).session_secret()
    store.dispose()


def test_with_login_and_a_user_a_non_loopback_bind_is_allowed(tmp_path):
    from scatterloop.core.server import check_bind, check_login

    settings = Settings(workspace=tmp_path / "ws", login="password")
    with pytest.raises(ValueError, match="has no users"):
        check_login(settings)
    auth.add_user(Workspace.open(settings).store, "root", "admin", "a long password")
    check_login(settings)
    check_bind("0.0.0.0", insecure=False, login_configured=True)
    with pytest.raises(ValueError, match="configure --login"):
        check_bind("0.0.0.0", insecure=False, login_configured=False)
    check_login(Settings(workspace=tmp_path / "other", login="header"))  # the proxy names users: none needed
