"""What a review of the Label and Train rooms found (2026-12-07, second session)."""

from __future__ import annotations

from scatterloop.core.store.undo import prelabel_annotator


def _add(store, n, start=0):
    return [
        store.add_image(
            sha256=f"{i:064x}", path=f"originals/{i}.tif", original_name=f"{i}.tif", source="generated",
            pattern="rings", height=8, width=8, dtype="uint16",
        )
        for i in range(start, start + n)
    ]  # fmt: skip


def test_a_prelabel_is_undone_by_the_person_who_accepted_it_and_not_by_another(workspace):
    store = workspace.store
    ids = _add(store, 5)
    store.add_labels(ids[:1], "fake", "carol")  # a hand label first
    taken = store.add_labels_where_unlabeled(
        {i: ("realistic", 0.95) for i in ids}, annotator=prelabel_annotator("carol", 0.9)
    )
    assert sorted(taken) == ids[1:]
    assert store.undo_last("Carol") == 0 and store.undo_last("caro") == 0  # another name undoes nothing of carol's
    assert store.undo_last("carol") == 4  # the pre-label, not the hand label before it
    labels = {i: s.label for i, s in store.current_labels().items()}
    assert labels.get(ids[0]) == "fake" and all(labels.get(i) is None for i in ids[1:])
    assert store.undo_last("carol") == 1  # then the hand label
    # a name with LIKE's wildcards is compared as written
    store.add_labels_where_unlabeled({ids[2]: ("fake", 0.99)}, annotator=prelabel_annotator("c_r%l", 0.9))
    assert store.undo_last("carol") == 0 and store.undo_last("c_r%l") == 1


def _label_truth(ws, realistic: int, fake: int):
    gen = [img for img, _ in ws.store.list_images() if img.source == "generated"]
    ids_real = [img.id for img in gen if img.truth.get("realistic")][:realistic]
    ids_fake = [img.id for img in gen if not img.truth.get("realistic")][:fake]
    ws.store.add_labels(ids_real, "realistic", "ada")
    ws.store.add_labels(ids_fake, "fake", "ada")
    return ids_real, ids_fake


def test_a_class_with_one_label_is_refused_with_what_was_found(small_workspace):
    import pytest

    from scatterloop.core.classify.data import assemble

    ws = small_workspace
    real, fake = _label_truth(ws, 2, 1)
    assert len(real) == 2 and len(fake) == 1
    with pytest.raises(ValueError) as err:
        assemble(ws.store, "realism")
    message = str(err.value)
    assert "each class needs two or more labelled images" in message and "'fake' has one" in message
    assert "found 2 realistic and 1 fake among labelled generated images" in message
    assert "6 experimental frames count as realistic" in message
    ws.store.add_labels(real, None, "ada")  # no realistic label at all: the same counts, said
    with pytest.raises(ValueError, match="found 0 realistic and 1 fake"):
        assemble(ws.store, "realism")


def test_a_validation_set_that_lost_a_class_is_refused(workspace):
    import pytest

    from scatterloop.core.classify.data import assemble

    store = workspace.store
    ids = _add(store, 8)
    store.add_labels(ids[:4], "a", "ada")
    store.add_labels(ids[4:], "b", "ada")
    split = assemble(store, "labels")
    assert set(split.val_y) == {0, 1}
    moved = [i for i, y in zip(split.val_ids, split.val_y, strict=True) if y == 1]
    store.add_labels(moved, "a", "ada")  # the validation images of "b" relabelled
    with pytest.raises(ValueError, match="the validation set holds no 'b' image"):
        assemble(store, "labels")


def test_a_refused_next_round_opens_no_round(small_workspace, capsys):
    from scatterloop.core.cli import main

    ws = small_workspace
    _label_truth(ws, 2, 2)
    before = ws.store.current_round()
    base = ["classify", "train", "--workspace", str(ws.root), "--quiet", "--json", "--next-round"]
    assert main([*base, "--init", "finetune", "--recipe", "paper"]) == 2
    assert "no checkpoint from an earlier round to fine-tune" in capsys.readouterr().err
    ws.store.add_labels([img.id for img, _ in ws.store.list_images() if img.source == "generated"], None, "ada")
    assert main(base) == 2
    assert "label at least two generated images realistic and two fake" in capsys.readouterr().err
    assert ws.store.current_round() == before


def test_the_train_tab_sends_the_sources_of_a_pattern_round():
    from scatterloop.callbacks.train_recipe import round_params

    params = round_params({"task": "pattern", "sources": ["simulated"]})
    assert params.sources == ("simulated",)
    assert round_params({"task": "realism", "sources": ["simulated"]}).sources == ("experimental",)  # not its own


def test_a_pattern_of_one_frame_is_left_out_and_a_new_pattern_gets_a_validation_frame(workspace):
    from scatterloop.core.classify.data import assemble

    store = workspace.store
    ids = []
    for k, pattern in enumerate(("rings",) * 4 + ("peaks",) * 4 + ("background",)):
        ids += [
            store.add_image(sha256=f"{k:064x}", path=f"originals/{k}.tif", original_name=f"{k}.tif",
                            source="experimental", pattern=pattern, height=8, width=8, dtype="uint16")
        ]  # fmt: skip
    split = assemble(store, "pattern")  # one background frame cannot train and validate: left out, said
    assert split.classes == ["peaks", "rings"] and split.summary["left_out"] == ["background"]
    for k in range(9, 17):  # a pattern imported after the first round: one of its new frames validates
        store.add_image(sha256=f"{k:064x}", path=f"originals/{k}.tif", original_name=f"{k}.tif",
                        source="experimental", pattern="background", height=8, width=8, dtype="uint16")  # fmt: skip
    again = assemble(store, "pattern")
    assert again.classes == ["background", "peaks", "rings"] and "left_out" not in again.summary
    assert set(again.val_y) == {0, 1, 2} and set(again.train_y) == {0, 1, 2}
    assert set(split.val_ids) <= set(again.val_ids) and not set(split.train_ids) & set(again.val_ids)


def test_a_new_class_whose_first_images_all_won_the_validation_coin_still_trains_on_one(workspace):
    from scatterloop.core.classify.data import _coin, fixed_validation

    store = workspace.store
    first = {1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "b"}
    val = fixed_validation(store, "labels", first, [])
    lucky = [i for i in range(7, 500) if _coin(i, 0) < 0.2][:2]  # both drawn for validation by their coin
    again = fixed_validation(store, "labels", {**first, **dict.fromkeys(lucky, "c")}, [])
    assert set(val) <= set(again) and len(set(again) & set(lucky)) == 1  # one validates, one trains
    again2 = fixed_validation(store, "labels", {**first, **dict.fromkeys(lucky, "c")}, [])
    assert again2 == again  # and each keeps the set it was given


def test_simulated_frames_are_no_realism_candidates(workspace):
    from scatterloop.core.classify.data import assemble
    from scatterloop.core.classify.predict import _candidates_only, candidates

    store = workspace.store
    gen = _add(store, 4)
    sim = [
        store.add_image(sha256=f"{k:064x}", path=f"originals/{k}.tif", original_name=f"{k}.tif", source="simulated",
                        pattern="rings", height=8, width=8, dtype="uint16")
        for k in range(100, 104)
    ]  # fmt: skip
    assert candidates(store, "realism") == gen  # the pattern task's training frames are not judged for realism
    assert set(candidates(store, "labels")) == set(gen + sim)
    calls = {i: ("realistic", 0.99) for i in gen + sim}
    assert set(_candidates_only(store, calls, {"realistic", "fake"})) == set(gen)
    store.add_labels(gen[:2], "realistic", "ada")
    store.add_labels(gen[2:], "fake", "ada")
    store.add_labels(sim, "fake", "ada")
    assert assemble(store, "realism").summary["labelled"] == 4  # the simulated frames' labels are not realism's


def test_classify_predict_refuses_a_device_this_machine_lacks(small_workspace, capsys):
    from scatterloop.core.cli import main

    runs = len(small_workspace.store.list_runs())
    assert main(["classify", "predict", "--workspace", str(small_workspace.root), "--device", "tpu"]) == 2
    assert "device: expected cpu, cuda, cuda:N or mps" in capsys.readouterr().err
    assert len(small_workspace.store.list_runs()) == runs
