"""PPO37RunnerCfg is an Isaac Lab runner config whose class_name resolves to PPO37Runner and whose dict builds it."""

from isaaclab.utils import to_dict
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg
from rsl_rl.utils import resolve_callable

from isaaclab_gr00t.runner import PPO37Runner, PPO37RunnerCfg
from isaaclab_gr00t.testing.point_mass import PointMassVecEnv


def test_cfg_builds_the_runner_like_the_runner_hook():
    cfg = PPO37RunnerCfg(
        device="cpu",
        num_steps_per_env=4,
        max_iterations=1,
        save_interval=10,
        experiment_name="point_mass",
        obs_groups={"actor": ["policy"], "critic": ["policy"]},
        keep_last_checkpoints=3,
        actor=RslRlMLPModelCfg(
            hidden_dims=[16],
            activation="elu",
            distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
        ),
        critic=RslRlMLPModelCfg(hidden_dims=[16], activation="elu"),
        algorithm=RslRlPpoAlgorithmCfg(
            num_learning_epochs=1, num_mini_batches=1, learning_rate=1e-3, schedule="fixed", gamma=0.99,
            lam=0.95, entropy_coef=0.0, desired_kl=0.01, max_grad_norm=1.0, value_loss_coef=1.0,
            use_clipped_value_loss=True, clip_param=0.2,
        ),
    )
    assert isinstance(cfg, RslRlOnPolicyRunnerCfg)
    train_cfg = to_dict(cfg)
    # Isaac Lab keeps "module:attr" strings as lazily resolved callables; the runner hook resolves plain text
    runner_class = resolve_callable(str.__str__(train_cfg["class_name"]))
    assert runner_class is PPO37Runner
    # the rsl-rl >= 5 migration drops these legacy fields before the runner sees the dict
    for legacy in ("policy", "empirical_normalization"):
        train_cfg.pop(legacy, None)
    for model in ("actor", "critic"):
        for legacy in ("stochastic", "init_noise_std", "noise_std_type", "state_dependent_std"):
            train_cfg[model].pop(legacy, None)
    runner = runner_class(PointMassVecEnv(4), train_cfg, log_dir=None, device=cfg.device)
    runner.learn(1)
    assert runner.current_learning_iteration == 1

