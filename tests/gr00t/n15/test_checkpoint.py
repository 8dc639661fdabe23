"""Loading a GR00T N1.5 checkpoint folder: round trip in a fresh process, every failure case, the doctor."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from isaaclab_gr00t.gr00t.n15 import (
    CheckpointError,
    CheckpointNotFoundError,
    KeyMismatchError,
    MissingShardError,
    MissingTokenizerError,
    N15Config,
    ShapeMismatchError,
    UnknownEmbodimentError,
    load_checkpoint,
)
from isaaclab_gr00t.gr00t.n15.checkpoint import load_tokenizer
from isaaclab_gr00t.gr00t.n15.doctor import main as doctor_main
from isaaclab_gr00t.gr00t.n15.testing import model_outputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHARD_1 = "model-00001-of-00002.safetensors"
SHARD_2 = "model-00002-of-00002.safetensors"
EMBED = "backbone.eagle_model.language_model.model.embed_tokens.weight"


def make_inputs(tokenizer, config: N15Config, seed: int = 0) -> dict[str, torch.Tensor]:
    """Two samples, two views each, left-padded chat-templated prompts with the image tokens expanded."""
    generator = torch.Generator().manual_seed(seed)
    texts = []
    for instruction in ("pick the red cube", "stack it"):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "image"},
                                                 {"type": "text", "text": instruction}]}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        for view in (1, 2):
            image = f"<image {view}><img>" + "<IMG_CONTEXT>" * config.tokens_per_view + "</img>"
            text = text.replace(f"<image-{view}>", image)
        texts.append(text)
    encoded = tokenizer(texts, padding=True, padding_side="left", return_tensors="pt")
    head = config.action_head
    image = config.vision.image_size
    return {
        "pixel_values": torch.rand(2, 2, 3, image, image, generator=generator) * 2 - 1,
        "input_ids": encoded["input_ids"],
        "attention_mask": encoded["attention_mask"],
        "state": torch.randn(2, head.max_state_dim, generator=generator),
        "noise": torch.randn(2, head.action_horizon, head.action_dim, generator=generator),
        "embodiment_id": torch.tensor([31, 24]),
    }


CHILD = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(1)
    from isaaclab_gr00t.gr00t.n15 import load_checkpoint
    from isaaclab_gr00t.gr00t.n15.testing import model_outputs
    ckpt_dir, processor_dir, inputs_path, out_path = sys.argv[1:]
    loaded = load_checkpoint(ckpt_dir, processor_dir=processor_dir, embodiment="gr1", dtype=torch.float32)
    assert not loaded.model.training
    outputs = model_outputs(loaded.model, torch.load(inputs_path, weights_only=True))
    outputs["embodiment_slot"] = torch.tensor(loaded.embodiment.slot_id)
    outputs["gr1_action_min"] = torch.tensor(loaded.embodiment.statistics.action["arm"].min)
    torch.save(outputs, out_path)
    """
)


def test_round_trip_in_a_fresh_process(tiny_checkpoint, tmp_path):
    """A new process loads the folder strictly; its outputs equal the source model's."""
    tokenizer = load_tokenizer(tiny_checkpoint.checkpoint_dir, tiny_checkpoint.processor_dir, tiny_checkpoint.config)
    inputs = make_inputs(tokenizer, tiny_checkpoint.config)
    assert int((inputs["attention_mask"] == 0).sum()) > 0  # left padding is exercised
    torch.save(inputs, tmp_path / "inputs.pt")
    subprocess.run(
        [sys.executable, "-c", CHILD, tiny_checkpoint.checkpoint_dir, tiny_checkpoint.processor_dir,
         str(tmp_path / "inputs.pt"), str(tmp_path / "out.pt")],
        check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, timeout=300,
    )
    loaded = torch.load(tmp_path / "out.pt", weights_only=True)
    expected = model_outputs(tiny_checkpoint.model, inputs)
    torch.testing.assert_close(loaded["features"], expected["features"], rtol=0, atol=1e-5)
    torch.testing.assert_close(loaded["actions"], expected["actions"], rtol=0, atol=1e-5)
    assert torch.isfinite(loaded["features"]).all() and loaded["actions"].abs().mean() > 0.01
    assert int(loaded["embodiment_slot"]) == 24
    assert loaded["gr1_action_min"].shape == (5,)  # tiny_metadata's arm


def test_load_puts_weights_in_the_chosen_dtype_and_resolves_the_embodiment(tiny_checkpoint):
    loaded = load_checkpoint(tiny_checkpoint.checkpoint_dir, processor_dir=tiny_checkpoint.processor_dir)
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}
    assert not any(t.is_meta for t in [*loaded.model.parameters(), *loaded.model.buffers()])
    rotary = loaded.model.backbone.eagle_model.language_model.model.rotary_emb
    assert rotary.inv_freq.dtype == torch.float32
    source = tiny_checkpoint.model.state_dict()
    for key, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, source[key].to(torch.bfloat16)), key
    assert loaded.embodiment.name == "new_embodiment" and loaded.embodiment.slot_id == 31
    assert list(loaded.embodiment.statistics.state) == ["arm", "gripper"]
    assert loaded.tokenizer.chat_template
    assert loaded.config.text.num_layers == 2 and loaded.config.vision.hidden_size == 32


def test_tokenizer_from_the_checkpoint_folder_and_a_single_weights_file(tmp_path):
    from isaaclab_gr00t.gr00t.n15.testing import write_tiny_checkpoint

    tiny = write_tiny_checkpoint(str(tmp_path), tokenizer_in="checkpoint", num_shards=1)
    assert os.path.isfile(os.path.join(tiny.checkpoint_dir, "model-00001-of-00001.safetensors"))
    os.remove(os.path.join(tiny.checkpoint_dir, "model.safetensors.index.json"))
    os.rename(os.path.join(tiny.checkpoint_dir, "model-00001-of-00001.safetensors"),
              os.path.join(tiny.checkpoint_dir, "model.safetensors"))
    loaded = load_checkpoint(tiny.checkpoint_dir, processor_dir=tiny.processor_dir, embodiment=24)
    assert loaded.embodiment.name == "gr1"
    assert loaded.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>") == tiny.config.image_token_id


def test_save_checkpoint_of_a_loaded_model_loads_back(tiny_checkpoint, tmp_path):
    """save_checkpoint writes the published layout with the tokenizer in the checkpoint folder."""
    from isaaclab_gr00t.gr00t.n15 import save_checkpoint

    first = _load(tiny_checkpoint, dtype=torch.float32)
    save_checkpoint(first.model, str(tmp_path / "saved"), num_shards=3, metadata=first.metadata,
                    tokenizer=first.tokenizer)
    (tmp_path / "sizes").mkdir()
    shutil.copy(os.path.join(tiny_checkpoint.processor_dir, "config.json"), tmp_path / "sizes" / "config.json")
    second = load_checkpoint(str(tmp_path / "saved"), processor_dir=str(tmp_path / "sizes"), embodiment="gr1",
                             dtype=torch.float32)
    assert sorted(f for f in os.listdir(tmp_path / "saved") if f.endswith(".safetensors")) == [
        f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    for key, tensor in second.model.state_dict().items():
        assert torch.equal(tensor, tiny_checkpoint.model.state_dict()[key]), key
    assert second.tokenizer.chat_template == first.tokenizer.chat_template
    assert second.metadata == first.metadata


def _edit_shard(folder: str, shard: str, edit) -> None:
    path = os.path.join(folder, shard)
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path, metadata={"format": "pt"})
    index_path = os.path.join(folder, "model.safetensors.index.json")
    with open(index_path) as file:
        index = json.load(file)
    index["weight_map"] = {k: v for k, v in index["weight_map"].items() if v != shard} | {k: shard for k in tensors}
    with open(index_path, "w") as file:
        json.dump(index, file)


def _load(tiny, **kwargs):
    return load_checkpoint(tiny.checkpoint_dir, processor_dir=tiny.processor_dir, **kwargs)


def test_published_variants_are_accepted(tiny_copy):
    """The SigLIP pooling head is ignored; an untied lm_head without embed_tokens becomes the embedding."""
    vision = tiny_copy.config.vision
    head = "backbone.eagle_model.vision_model.vision_model.head."

    def edit(tensors):
        tensors[head + "probe"] = torch.zeros(1, 1, vision.hidden_size)
        tensors[head + "mlp.fc1.weight"] = torch.zeros(vision.mlp_size, vision.hidden_size)
        tensors["backbone.eagle_model.language_model.lm_head.weight"] = tensors.pop(EMBED) + 1.0

    shard = next(s for s in (SHARD_1, SHARD_2) if EMBED in load_file(os.path.join(tiny_copy.checkpoint_dir, s)))
    _edit_shard(tiny_copy.checkpoint_dir, shard, edit)
    loaded = _load(tiny_copy, dtype=torch.float32)
    embedding = loaded.model.state_dict()[EMBED]
    assert torch.equal(embedding, tiny_copy.model.state_dict()[EMBED] + 1.0)


def test_missing_folder():
    with pytest.raises(CheckpointNotFoundError, match="/no/such/gr00t: checkpoint folder not found"):
        load_checkpoint("/no/such/gr00t")
    with pytest.raises(CheckpointNotFoundError, match="nvidia/not-cached: checkpoint folder not found .*cache"):
        load_checkpoint("nvidia/not-cached")


def test_a_repository_in_the_local_hugging_face_cache(tiny_checkpoint, tmp_path, monkeypatch):
    import huggingface_hub.constants

    repo = tmp_path / "hub" / "models--nvidia--GR00T-N1.5-tiny"
    shutil.copytree(tiny_checkpoint.checkpoint_dir, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    loaded = load_checkpoint("nvidia/GR00T-N1.5-tiny", processor_dir=tiny_checkpoint.processor_dir)
    assert loaded.config == tiny_checkpoint.config


def test_missing_shard(tiny_copy):
    os.remove(os.path.join(tiny_copy.checkpoint_dir, SHARD_2))
    with pytest.raises(MissingShardError, match=f"{SHARD_2}: shard named by .*index.json not found"):
        _load(tiny_copy)


def test_missing_and_unexpected_keys(tiny_copy):
    dropped = "action_head.future_tokens.weight"
    shard = next(s for s in (SHARD_1, SHARD_2) if dropped in load_file(os.path.join(tiny_copy.checkpoint_dir, s)))
    _edit_shard(tiny_copy.checkpoint_dir, shard, lambda t: t.pop(dropped))
    _edit_shard(tiny_copy.checkpoint_dir, SHARD_1, lambda t: t.update({"action_head.extra.weight": torch.zeros(2)}))
    with pytest.raises(KeyMismatchError) as err:
        _load(tiny_copy)
    assert err.value.missing == [dropped] and err.value.unexpected == ["action_head.extra.weight"]
    assert "1 missing" in str(err.value) and dropped in str(err.value) and "action_head.extra.weight" in str(err.value)
    assert tiny_copy.checkpoint_dir in str(err.value)


def test_shape_mismatch(tiny_copy):
    key = "action_head.position_embedding.weight"
    shard = next(s for s in (SHARD_1, SHARD_2) if key in load_file(os.path.join(tiny_copy.checkpoint_dir, s)))
    _edit_shard(tiny_copy.checkpoint_dir, shard, lambda t: t.update({key: torch.zeros(7, 3)}))
    want = (tiny_copy.config.action_head.max_seq_len, tiny_copy.config.action_head.input_embedding_dim)
    message = f"'{key}' has shape (7, 3) in the weights, the architecture of its config.json expects {want}"
    with pytest.raises(ShapeMismatchError, match=re.escape(message)):
        _load(tiny_copy)


def test_missing_tokenizer(tiny_copy):
    for name in os.listdir(tiny_copy.processor_dir):
        if name != "config.json":
            os.remove(os.path.join(tiny_copy.processor_dir, name))
    with pytest.raises(MissingTokenizerError, match="No tokenizer in"):
        _load(tiny_copy)


def test_missing_chat_template(tiny_copy):
    os.remove(os.path.join(tiny_copy.processor_dir, "chat_template.json"))
    with pytest.raises(MissingTokenizerError, match="no chat template"):
        _load(tiny_copy)


def test_unknown_embodiment(tiny_checkpoint):
    known = "Unknown embodiment 'robot_x': known embodiments are .*'new_embodiment' \\(slot 31\\)"
    with pytest.raises(UnknownEmbodimentError, match=known):
        _load(tiny_checkpoint, embodiment="robot_x")
    with pytest.raises(UnknownEmbodimentError, match="slot id 5"):
        _load(tiny_checkpoint, embodiment=5)


def test_missing_metadata(tiny_copy):
    os.remove(os.path.join(tiny_copy.checkpoint_dir, "experiment_cfg", "metadata.json"))
    with pytest.raises(CheckpointNotFoundError, match="metadata.json: not found"):
        _load(tiny_copy)


def test_config_sizes_come_from_the_folders(tiny_checkpoint, tmp_path):
    config = N15Config.from_checkpoint(tiny_checkpoint.checkpoint_dir, tiny_checkpoint.processor_dir)
    assert config == tiny_checkpoint.config
    with pytest.raises(CheckpointError, match="width 2048, .*no processor folder: the published vision/language"):
        N15Config.from_checkpoint(tiny_checkpoint.checkpoint_dir)  # tiny head, published backbone
    (tmp_path / "config.json").write_text(json.dumps({"backbone_cfg": {"select_layer": 12}, "action_head_cfg": {
        "action_dim": 32, "diffusion_model_cfg": {"num_layers": 16, "positional_embeddings": None}}}))
    assert N15Config.from_checkpoint(str(tmp_path)) == N15Config.preset("full")
    (tmp_path / "config.json").write_text(json.dumps({"backbone_cfg": {"project_to_dim": 1536}}))
    with pytest.raises(CheckpointError, match="project_to_dim=1536"):
        N15Config.from_checkpoint(str(tmp_path))


def test_doctor_passes_a_good_folder(tiny_checkpoint, capsys):
    assert doctor_main([tiny_checkpoint.checkpoint_dir, "--processor", tiny_checkpoint.processor_dir, "--load"]) == 0
    out = capsys.readouterr().out
    assert "OK:" in out and "LOADED" in out and "peak RSS" in out and "PROBLEM" not in out


def test_doctor_lists_every_broken_key_and_fails(tiny_copy, capsys):
    moved = "action_head.vlln.weight"
    shard = next(s for s in (SHARD_1, SHARD_2) if moved in load_file(os.path.join(tiny_copy.checkpoint_dir, s)))
    _edit_shard(tiny_copy.checkpoint_dir, shard, lambda t: t.update({
        "action_head.vlln.gamma": t.pop(moved), "action_head.future_tokens.weight": torch.zeros(5, 5)}))
    os.remove(os.path.join(tiny_copy.checkpoint_dir, "experiment_cfg", "metadata.json"))
    assert doctor_main([tiny_copy.checkpoint_dir, "--processor", tiny_copy.processor_dir]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM missing tensor: {moved}" in out
    assert "PROBLEM unexpected tensor: action_head.vlln.gamma" in out
    assert "PROBLEM misshapen tensor: action_head.future_tokens.weight: (5, 5) in the weights" in out
    assert "WARNING" in out and "metadata.json not found" in out
    assert "FAILED (3 problems)" in out


def test_doctor_command_line_without_processor_assumes_published_sizes(tiny_checkpoint):
    """``python -m isaaclab_gr00t.gr00t.doctor`` on a tiny folder without --processor: published backbone widths
    do not fit the tiny action head."""
    result = subprocess.run([sys.executable, "-m", "isaaclab_gr00t.gr00t.doctor", tiny_checkpoint.checkpoint_dir],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PROBLEM" in result.stdout and "language model's width 2048" in result.stdout
    assert "no processor folder: the published vision/language sizes are assumed" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("section", "field"), [("diffusion_model_cfg", "num_layers"),
                                                 ("vl_self_attention_cfg", "num_layers")])
def test_an_absurd_block_count_is_refused_before_anything_is_built(tiny_copy, capsys, section, field):
    path = os.path.join(tiny_copy.checkpoint_dir, "config.json")
    with open(path, encoding="utf-8") as file:
        config = json.load(file)
    config["action_head_cfg"][section][field] = 10**9
    with open(path, "w", encoding="utf-8") as file:
        json.dump(config, file)
    start = time.perf_counter()
    assert doctor_main([tiny_copy.checkpoint_dir, "--processor", tiny_copy.processor_dir]) == 1
    assert time.perf_counter() - start < 10
    out = capsys.readouterr().out
    assert f"{section}.{field}=1000000000" in out and "the weights hold" in out
    with pytest.raises(CheckpointError, match=f"{section}.{field}=1000000000"):
        load_checkpoint(tiny_copy.checkpoint_dir, processor_dir=tiny_copy.processor_dir)
