"""`scatterloop users add|list|remove`: the people who may sign in when the server runs with login on.

Passwords are read from a prompt (twice, not echoed) or, for scripts, from standard input (`--password-stdin`,
the first line); never from the command line, where other users of the machine could read them.
"""

from __future__ import annotations

import sys

from .cli_names import ROLES


def _read_password(args) -> str | None:
    if args.no_password and args.password_stdin:  # an admin without a password must never be a slip
        raise ValueError("--no-password and --password-stdin: choose one")
    if args.no_password:
        return None
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    import getpass

    try:
        first = getpass.getpass(f"password for {args.name}: ")
        again = getpass.getpass("again: ")
    except EOFError:  # a script or CI: no terminal, and standard input ended
        raise ValueError(
            "no terminal to ask for the password: pipe it with --password-stdin, or use --no-password"
        ) from None
    if again != first:
        raise ValueError("password: the two entries differ")
    return first


def cmd_users(args) -> int:
    from .auth import add_user
    from .cli_common import emit, settings_from
    from .workspace import Workspace

    ws = Workspace.open(settings_from(args))
    store = ws.store
    if args.action == "add":
        if args.name is None or args.role is None:
            raise ValueError("users add: NAME and --role are required")
        password = _read_password(args)
        who = add_user(store, args.name, args.role, password, replace=args.replace)
        how = "without a password (a proxy names them)" if password is None else "with a password"
        emit(
            args,
            {"command": "users add", "name": who.name, "role": who.role, "password": password is not None},
            f"user {who.name} ({who.role}) saved {how}",
        )
    elif args.action == "remove":
        if args.name is None:
            raise ValueError("users remove: NAME is required")
        store.remove_user(args.name)
        emit(args, {"command": "users remove", "name": args.name}, f"user {args.name} removed")
    else:
        users = [
            {"name": u.name, "role": u.role, "password": u.password_hash is not None, "created": u.created_at}
            for u in store.list_users()
        ]
        human = "\n".join(f"{u['name']}\t{u['role']}" for u in users) or "no users"
        emit(args, {"command": "users list", "users": users}, human)
    return 0


def add_parser(sub, common) -> None:
    p = sub.add_parser("users", parents=[common], help="manage the people who may sign in (login on)")
    p.add_argument("action", choices=("add", "list", "remove"))
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--workspace", required=True)
    p.add_argument("--role", choices=ROLES, default=None, help="add: viewer, annotator or admin")
    p.add_argument("--password-stdin", action="store_true", help="add: read the password from standard input")
    p.add_argument(
        "--no-password", action="store_true", help="add: no password (login=header: the proxy names the user)"
    )
    p.add_argument("--replace", action="store_true", help="add: change the role and password of an existing user")
    p.set_defaults(func=cmd_users, only_for=ONLY_FOR)


_ADD = ("add",)
# given to another action these would be ignored, so they are refused (`users list --role admin`)
ONLY_FOR = (
    ("action", {"name": ("add", "remove"), "role": _ADD, "password_stdin": _ADD, "no_password": _ADD,
                "replace": _ADD}),
)  # fmt: skip


def add_login_flag(p) -> None:
    """`--login` of `serve` and `demo` (default: `SCATTERLOOP_LOGIN`, else none)."""
    p.add_argument(
        "--login",
        choices=("none", "password", "header"),
        default=None,
        help="password: users of `scatterloop users` sign in; header: a trusted proxy's X-Forwarded-User names them",
    )
