"""The random-checkpoint writer makes a folder in the published layout that the doctor and the loader accept."""

import os

import torch

from isaaclab_gr00t.bench import gr00t_checkpoint
from isaaclab_gr00t.gr00t.n15 import N15Config, load_checkpoint
from isaaclab_gr00t.gr00t.n15.doctor import diagnose
from isaaclab_gr00t.gr00t.n15.testing import write_processor_folder


def test_written_folder_passes_the_doctor_and_loads(tmp_path, capsys):
    folder = str(tmp_path / "ckpt")
    gr00t_checkpoint.main(["--write", folder, "--size", "tiny", "--pooling-head", "--shards", "3"])
    table = capsys.readouterr().out
    layout = gr00t_checkpoint.expected_layout(N15Config.preset("tiny"))
    assert f"| {folder} | tiny | bfloat16 | {len(layout) + 11} |" in table
    assert len([name for name in os.listdir(folder) if name.endswith(".safetensors")]) == 3

    sizes = str(tmp_path / "sizes")
    write_processor_folder(sizes, N15Config.preset("tiny"), None)  # vision/language sizes only
    found = diagnose(folder, sizes)
    assert found.ok and not found.warnings
    assert any("ignored (published, unused): 11 tensors" in note for note in found.notes)

    loaded = load_checkpoint(folder, processor_dir=sizes, embodiment="gr1")
    assert loaded.embodiment.statistics is not None
    state = loaded.model.state_dict()
    for key in ("action_head.vlln.weight", "backbone.eagle_model.language_model.model.norm.weight"):
        assert torch.equal(state[key], torch.ones_like(state[key]))
    assert 0.01 < state["action_head.future_tokens.weight"].float().std() < 0.03
