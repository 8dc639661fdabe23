"""The learner-step benchmark times stock PPO and PPO37 with per-step details switched off, on CPU."""

import pytest

from isaaclab_gr00t.bench import learner_step
from isaaclab_gr00t.ppo import PPO37


def test_every_variant_is_timed_with_and_without_its_learner(tmp_path, capsys):
    costs = learner_step.main(["--num_envs", "16", "--steps", "4", "--repeats", "2", "--out", str(tmp_path / "step")])
    assert [cost.name for cost in costs] == list(learner_step.VARIANTS)
    for cost in costs:
        # the learner's step includes an environment step, plus sampling, the critic and the storage write
        assert cost.with_learner > cost.env_alone > 0
    table = (tmp_path / "step.md").read_text()
    assert table == capsys.readouterr().out.rstrip("\n") + "\n"
    assert table.count("\n| ") == 1 + len(costs)


def test_variants_switch_the_per_step_details_off():
    assert learner_step.algorithm_cfg(None) is None  # the synthetic task's stock PPO
    every_detail = learner_step.algorithm_cfg(learner_step.VARIANTS["PPO37, every detail on"])
    assert every_detail["class_name"] == "isaaclab_gr00t.ppo:PPO37"
    assert every_detail["reward_scaling"] and every_detail["obs_normalization"]
    without_both = learner_step.algorithm_cfg(
        learner_step.VARIANTS["PPO37 without reward scaling (30) and observation normalization (28)"]
    )
    assert not without_both["reward_scaling"] and not without_both["obs_normalization"]


def test_the_timed_algorithms_are_the_ones_named(monkeypatch):
    built = []
    act = PPO37.act

    def recording_act(self, obs):
        built.append((type(self).__name__, self.reward_scaler is not None))
        return act(self, obs)

    monkeypatch.setattr(PPO37, "act", recording_act)
    learner_step.main(["--num_envs", "8", "--steps", "1", "--repeats", "1"])
    assert sorted(set(built)) == [("PPO37", False), ("PPO37", True)]


@pytest.mark.parametrize("flag", ["--num_envs", "--steps", "--repeats"])
def test_bad_sizes_are_rejected(flag, capsys):
    with pytest.raises(SystemExit):
        learner_step.parse_args([flag, "0"])
    assert f"{flag} must be >= 1" in capsys.readouterr().err
