"""The fine-tune command on tiny models: it learns, writes a checkpoint the doctor and the actor load, resumes,
and refuses mismatched datasets."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from isaaclab_gr00t.gr00t import GR00TActor
from isaaclab_gr00t.gr00t.dataset.reader import GR00TDataset
from isaaclab_gr00t.gr00t.finetune import main, parse_args, run
from isaaclab_gr00t.gr00t.n15.doctor import main as doctor_main
from isaaclab_gr00t.gr00t.n15.embodiments import EMBODIMENT_SLOT_FIELD, NORMALIZATION_MODES_FIELD

from .conftest import INSTRUCTION, demo_action, write_dataset


def _finetune(dataset: str, out: str, steps: int, *extra: str):
    return run(parse_args(["--dataset", dataset, "--size", "tiny", "--embodiment", "new_embodiment", "--out", out,
                           "--steps", str(steps), "--batch-size", "12", "--lr", "3e-3", "--device", "cpu",
                           "--log-every", "50", *extra]))


def _actor_error(checkpoint: str, dataset_dir: str) -> float:
    """Mean absolute error of the loaded actor's deterministic action against the demonstrations, every frame."""
    dataset = GR00TDataset.open(dataset_dir)
    episodes = [dataset.episode(i) for i in range(dataset.num_episodes)]
    groups = {"state": torch.as_tensor(np.concatenate([e.states for e in episodes]))}
    for key in dataset.video_keys:
        groups[key] = torch.as_tensor(np.concatenate([e.images[key] for e in episodes])).float()
    obs = TensorDict(groups, batch_size=[len(groups["state"])])
    actor = GR00TActor(obs, {"actor": list(groups)}, "actor", 3, checkpoint=checkpoint, instruction=INSTRUCTION,
                       pixel_scale=1 / 255)
    demonstrated = torch.as_tensor(demo_action(groups["state"].double().numpy())).float()
    with torch.no_grad():
        torch.manual_seed(0)
        return float((actor(obs) - demonstrated).abs().mean())


@pytest.mark.parametrize("video", [False, True], ids=["state_only", "one_view"])
def test_finetune_learns_and_writes_a_checkpoint_the_doctor_and_the_actor_load(tmp_path, video, capsys):
    dataset = write_dataset(str(tmp_path / "data"), video=video)
    untrained, trained = str(tmp_path / "untrained"), str(tmp_path / "trained")
    _finetune(dataset, untrained, 0)
    result = _finetune(dataset, trained, 450)
    losses = result.fixed_batch_losses
    assert all(np.isfinite(losses)) and losses[-1] < 0.9 * losses[0], losses
    assert doctor_main([trained, "--load"]) == 0, capsys.readouterr().out
    with open(os.path.join(trained, "experiment_cfg", "metadata.json")) as file:
        entry = json.load(file)["new_embodiment"]
    assert set(entry["statistics"]["state"]) == {"arm", "gripper"} and entry["embodiment_tag"] == "new_embodiment"
    assert set(entry["statistics"]["action"]["arm"]) == {"max", "min", "mean", "std", "q01", "q99"}
    assert entry[NORMALIZATION_MODES_FIELD]["action.gripper"] == "min_max"
    assert ("front" in entry["modalities"]["video"]) == video
    errors = _actor_error(trained, dataset), _actor_error(untrained, dataset)
    assert errors[0] < 0.9 * errors[1], errors  # measured at seed 0: 0.54 vs 0.61 (state only), 0.49 vs 0.61 (one view)


def test_resume_continues_the_step_count_from_the_saved_state(tmp_path):
    dataset = write_dataset(str(tmp_path / "data"), video=False)
    out = str(tmp_path / "out")
    first = _finetune(dataset, out, 4)
    assert (first.first_step, first.last_step) == (0, 4)
    state = torch.load(os.path.join(out, "trainer_state.pt"), weights_only=True)
    assert state["step"] == 4 and state["optimizer"]["state"]
    resumed = _finetune(dataset, out, 7, "--resume")
    assert (resumed.first_step, resumed.last_step) == (4, 7)
    # the resumed run starts from the saved weights: its first fixed-batch loss is the first run's last
    assert resumed.fixed_batch_losses[0] == pytest.approx(first.fixed_batch_losses[-1], abs=1e-6)
    with pytest.raises(ValueError, match="lora_rank=0"):
        _finetune(dataset, out, 9, "--resume", "--lora-rank", "2")


def test_a_new_tag_takes_a_free_slot_lora_is_merged_and_modes_are_recorded(tmp_path):
    dataset = write_dataset(str(tmp_path / "data"), video=False)
    out = str(tmp_path / "out")
    run(parse_args(["--dataset", dataset, "--size", "tiny", "--embodiment", "my_arm", "--out", out, "--steps", "2",
                    "--batch-size", "4", "--device", "cpu", "--lora-rank", "2", "--normalization",
                    "action.gripper=binary", "--normalization", "state.arm=q99"]))
    assert doctor_main([out, "--load", "--embodiment", "my_arm"]) == 0
    with open(os.path.join(out, "experiment_cfg", "metadata.json")) as file:
        entry = json.load(file)["my_arm"]
    assert entry[EMBODIMENT_SLOT_FIELD] == 0
    assert entry[NORMALIZATION_MODES_FIELD] == {"state.arm": "q99", "state.gripper": "min_max",
                                                "action.arm": "min_max", "action.gripper": "binary"}
    obs = TensorDict({"state": torch.zeros(2, 3)}, batch_size=[2])
    actor = GR00TActor(obs, {"actor": ["state"]}, "actor", 3, checkpoint=out, embodiment="my_arm")
    assert actor.embodiment_id == 0 and actor.action_map.modes("action")["action.gripper"] == "binary"
    with torch.no_grad():
        assert set(actor(obs)[:, 2].tolist()) <= {0.0, 1.0}  # the binary gripper, as trained


def test_datasets_with_other_keys_are_refused_before_training(tmp_path, capsys):
    first = write_dataset(str(tmp_path / "a"), video=False)
    second = write_dataset(str(tmp_path / "b"), video=True)
    out = str(tmp_path / "out")
    code = main(["--dataset", first, "--dataset", second, "--size", "tiny", "--embodiment", "new_embodiment",
                 "--out", out, "--steps", "1", "--device", "cpu"])
    assert code == 2
    error = capsys.readouterr().err
    assert "meta/modality.json video" in error and str(tmp_path / "b") in error
    assert not os.path.exists(out)
    broken = write_dataset(str(tmp_path / "c"), video=False)
    os.remove(os.path.join(broken, "meta", "modality.json"))
    assert main(["--dataset", broken, "--size", "tiny", "--embodiment", "gr1", "--out", out, "--steps", "1"]) == 2
    assert "modality.json" in capsys.readouterr().err


def test_finetune_from_a_base_checkpoint_keeps_its_other_embodiments(tmp_path):
    from isaaclab_gr00t.gr00t.n15.testing import write_tiny_checkpoint

    base = write_tiny_checkpoint(str(tmp_path / "base"))
    dataset = write_dataset(str(tmp_path / "data"), video=True)
    out = str(tmp_path / "out")
    run(parse_args(["--dataset", dataset, "--base", base.checkpoint_dir, "--processor", base.processor_dir,
                    "--embodiment", "gr1", "--out", out, "--steps", "2", "--batch-size", "4", "--device", "cpu"]))
    with open(os.path.join(out, "experiment_cfg", "metadata.json")) as file:
        metadata = json.load(file)
    assert set(metadata) == {"new_embodiment", "gr1"}
    assert list(metadata["gr1"]["statistics"]["state"]) == ["arm", "gripper"]
    assert len(metadata["gr1"]["statistics"]["state"]["arm"]["max"]) == 2  # the dataset's, not the base's 5
    assert doctor_main([out, "--processor", base.processor_dir, "--load", "--embodiment", "gr1"]) == 0
    # the tokenizer and the backbone sizes travel with the output: it loads without the processor folder
    obs = TensorDict({"state": torch.zeros(2, 3), "front": torch.zeros(2, 32, 32, 3)}, batch_size=[2])
    actor = GR00TActor(obs, {"actor": ["state", "front"]}, "actor", 3, checkpoint=out, embodiment="gr1")
    assert actor.embodiment_id == 24 and actor.state_map.dim == 3
    trained = dict(actor.gr00t.action_head.named_parameters())
    assert not torch.equal(trained["model.proj_out_2.weight"].float(),
                           dict(base.model.action_head.named_parameters())["model.proj_out_2.weight"])
