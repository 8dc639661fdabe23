"""A cartpole policy trained by ``isaaclab train`` once per session, on short-episode test twins of the cartpoles."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

SPECS = {
    # 2 s episodes (120 steps) keep the rollouts short; the agent is the project cartpole's, so it learns as fast
    "short_cartpole.yaml": """
id: Test-Short-Cartpole
base: GR00T-Cartpole-Direct
env: {episode_length_s: 2.0}
agents:
  rsl_rl_cfg_entry_point:
    preset: ppo37_gpu
    overrides:
      experiment_name: test_short_cartpole
      actor: {distribution_cfg: {std_type: scalar}}
      algorithm: {orthogonal_init: false, obs_normalization: false, reward_scaling: false, value_loss_coef: 2.0}
  # GR00T-Cartpole-Direct's tiny GR00T N1.5 agent, which loads a post-trained checkpoint (test_sft_pipeline.py)
  rsl_rl_gr00t_cfg_entry_point:
    preset: gr00t_tiny
    overrides:
      experiment_name: test_short_cartpole_gr00t
      obs_groups: {actor: [policy], critic: [policy]}
      critic: {value_input: state}
      algorithm: {share_cnn_encoders: false}
""",
    # its camera twin: the joint state the expert reads is the 'critic' group here
    "short_cartpole_camera.yaml": """
id: Test-Short-Cartpole-Camera
base: GR00T-Cartpole-Camera-Direct
env: {episode_length_s: 2.0}
agents:
  rsl_rl_cfg_entry_point: {preset: ppo37_camera}
  rsl_rl_gr00t_cfg_entry_point: {preset: gr00t_tiny}
""",
}


@dataclass
class TrainedCartpole:
    run_dir: Path
    """``logs/rsl_rl/test_short_cartpole/<run>``."""
    untrained: Path
    """The same checkpoint with the actor's weights drawn afresh (PyTorch's default init, seed 0)."""
    env: dict[str, str]
    """Environment of the commands: the test task specs, offline, two threads."""

    def run(self, module: str, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """``python -m module args`` in the training's folder; asserts success when ``check``."""
        done = subprocess.run([sys.executable, "-m", module, *args], cwd=self.run_dir.parents[3], env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"{module} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        return done


def untrained_copy(checkpoint: Path, path: Path) -> Path:
    """``checkpoint`` with every actor layer re-initialized as a fresh ``nn.Linear`` would be."""
    content = torch.load(checkpoint, weights_only=True)
    actor = content["actor_state_dict"]
    torch.manual_seed(0)
    for name in [key for key in actor if key.endswith(".weight")]:
        layer = torch.nn.Linear(actor[name].shape[1], actor[name].shape[0])
        actor[name] = layer.weight.detach()
        actor[name.removesuffix("weight") + "bias"] = layer.bias.detach()
    torch.save(content, path)
    return path


@pytest.fixture(scope="session")
def trained_cartpole(tmp_path_factory) -> TrainedCartpole:
    root = tmp_path_factory.mktemp("trained_cartpole")
    specs = root / "specs"
    specs.mkdir()
    for name, text in SPECS.items():
        (specs / name).write_text(text)
    env = {**os.environ, "ISAACLAB_GR00T_TASK_PATH": str(specs), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    isaaclab = str(Path(sys.executable).with_name("isaaclab"))
    done = subprocess.run(
        [isaaclab, "train", "--rl_library", "rsl_rl", "--task", "Test-Short-Cartpole", "env.scene.num_envs=64",
         "agent.max_iterations=12", "agent.save_interval=12"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"training failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    run_dir = next((root / "logs" / "rsl_rl" / "test_short_cartpole").iterdir())
    return TrainedCartpole(run_dir, untrained_copy(run_dir / "model_12.pt", root / "model_untrained.pt"), env)
