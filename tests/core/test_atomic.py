"""Files and folders appear whole under their name, or not at all."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.core.atomic import atomic_dir, atomic_write, is_temporary


def test_atomic_dir_appears_whole_replaces_an_older_one_and_leaves_nothing_on_error(tmp_path):
    dest = tmp_path / "cache" / "key"
    with atomic_dir(dest) as tmp:
        (tmp / "a.txt").write_text("one")
        assert not dest.exists() and is_temporary(tmp)
    assert (dest / "a.txt").read_text() == "one"
    with atomic_dir(dest) as tmp:
        (tmp / "b.txt").write_text("two")
        assert (dest / "a.txt").exists()  # readers keep the old folder until the new one is whole
    assert sorted(p.name for p in dest.iterdir()) == ["b.txt"]
    with pytest.raises(RuntimeError), atomic_dir(dest) as tmp:
        (tmp / "c.txt").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in dest.iterdir()) == ["b.txt"]
    assert [p.name for p in dest.parent.iterdir()] == ["key"]  # no temporary left behind


def test_atomic_write_keeps_the_suffix_and_renames_when_done(tmp_path):
    dest = tmp_path / "x.npy"
    with atomic_write(dest) as tmp:
        np.save(tmp, np.arange(3))  # np.save would append .npy to a name without it
        assert not dest.exists()
    assert np.load(dest).tolist() == [0, 1, 2] and [p.name for p in tmp_path.iterdir()] == ["x.npy"]
    with pytest.raises(ValueError), atomic_write(dest) as tmp:
        tmp.write_text("half")
        raise ValueError("bad")
    assert np.load(dest).tolist() == [0, 1, 2] and [p.name for p in tmp_path.iterdir()] == ["x.npy"]
