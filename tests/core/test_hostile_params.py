"""Hostile command-line and job parameters: each is refused with one line on stderr naming the flag or field and
exit code 2, before anything is written or any work starts; nothing already in the workspace is touched."""

from __future__ import annotations

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
