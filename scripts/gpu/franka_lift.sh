#!/usr/bin/env bash
# Franka lift measurements on a CUDA machine, offline. Usage, from the project root:
#
#   scripts/gpu/franka_lift.sh OUT_DIR [envonly|learn|camera|video|all]
#
#   envonly  env-only steps/s of GR00T-Franka-Lift (4096 envs) and GR00T-Franka-Lift-Camera (512 envs)  ~3 min
#   learn    PPO37 and stock rsl_rl on GR00T-Franka-Lift, 4096 envs, $ITERATIONS (200) iterations each, seed
#            $SEED (42), then
#            OUT_DIR/learning.{md,png,json}: return and Metrics/success_rate against env steps and wall time.
#            With two GPUs visible the two agents train at the same time, one per GPU (~5.5 min), else one
#            after the other (~11 min: run it as its own command)
#   camera   GR00T-Franka-Lift-Camera with the CNN agent (PPO37), 512 envs, at most $CAMERA_SECONDS (240) s  ~5 min
#   video    exports the PPO37 policy of `learn` and records the camera task's front camera under it (16 envs, the
#            one that lifts the cube highest) as
#            OUT_DIR/franka_lift.gif                                                           ~3 min
#   all      the four, in that order (more than one 10-minute command: run the steps separately there)
#
# Every step writes under OUT_DIR (training logs in OUT_DIR/logs/rsl_rl/...). The Panda USD is built from
# gymnasium-robotics with mujoco-usd-converter; a machine without them needs a prebuilt asset cache:
# set ISAACLAB_GR00T_ASSET_DIR to a folder holding franka.usdc (built here by any run of the Franka tasks, e.g.
# `ISAACLAB_GR00T_ASSET_DIR=cache python -c "from isaaclab_gr00t.assets import asset_path; asset_path('franka')"`).
set -euo pipefail

OUT=$(realpath -m "${1:?usage: $0 OUT_DIR [envonly|learn|camera|video|all]}")
STEP=${2:-all}
PYTHON=${PYTHON:-python}
ISAACLAB=${ISAACLAB:-isaaclab}
ITERATIONS=${ITERATIONS:-200}
SEED=${SEED:-42}
CAMERA_SECONDS=${CAMERA_SECONDS:-240}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
# no asset server: every stock asset path points at an empty folder
export ISAACSIM_ASSET_ROOT=${ISAACSIM_ASSET_ROOT:-$OUT/empty_asset_root}
mkdir -p "$OUT" "$ISAACSIM_ASSET_ROOT"
cd "$OUT"

latest_run() { ls -d "$OUT"/logs/rsl_rl/"$1"/*/ | sort | tail -n 1; }

envonly() {
  "$PYTHON" -m isaaclab_gr00t.bench.franka_lift envonly --task GR00T-Franka-Lift GR00T-Franka-Lift-Camera \
    --num_envs 4096 512 --steps 200 --device cuda:0 --out "$OUT/envonly" 2>&1 | tee "$OUT/envonly.log" | tail -n 4
}

train_lift() {  # $1: agent entry point, $2: device
  "$ISAACLAB" train --rl_library rsl_rl --task GR00T-Franka-Lift --agent "$1" --device "$2" --seed "$SEED" \
    env.scene.num_envs=4096 agent.max_iterations="$ITERATIONS" agent.save_interval=50 agent.device="$2"
}

learn() {
  local gpus
  gpus=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
  if [ "$gpus" -ge 2 ]; then
    train_lift rsl_rl_cfg_entry_point cuda:0 > "$OUT/train_ppo37.log" 2>&1 &
    local ppo37=$!
    train_lift rsl_rl_stock_cfg_entry_point cuda:1 > "$OUT/train_stock.log" 2>&1
    wait "$ppo37"
  else
    train_lift rsl_rl_cfg_entry_point cuda:0 > "$OUT/train_ppo37.log" 2>&1
    train_lift rsl_rl_stock_cfg_entry_point cuda:0 > "$OUT/train_stock.log" 2>&1
  fi
  "$PYTHON" -m isaaclab_gr00t.bench.franka_lift report --run "ppo37=$(latest_run gr00t_franka_lift)" \
    --run "stock=$(latest_run gr00t_franka_lift_stock)" --out "$OUT/learning"
}

camera() {
  # a fixed wall-time budget: checkpoints and logs are written as it goes, so stopping it loses nothing
  timeout --signal=INT --kill-after=60 "$CAMERA_SECONDS" "$ISAACLAB" train --rl_library rsl_rl --task GR00T-Franka-Lift-Camera \
    --device cuda:0 --seed 42 env.scene.num_envs=512 agent.max_iterations=1000 agent.save_interval=10 \
    > "$OUT/train_camera.log" 2>&1 || true
  "$PYTHON" -m isaaclab_gr00t.bench.franka_lift report --run "cnn=$(latest_run gr00t_franka_lift_camera)" \
    --out "$OUT/camera_learning"
}

video() {
  local run
  run=$(latest_run gr00t_franka_lift)
  # play exports the policy (exported/policy.pt) before it starts stepping; stop it once the file is there
  "$ISAACLAB" play --rl_library rsl_rl --task GR00T-Franka-Lift --device cuda:0 --num_envs 4 \
    --checkpoint "$(ls "$run"model_*.pt | sort -V | tail -n 1)" > "$OUT/play.log" 2>&1 &
  local play=$!
  for _ in $(seq 300); do [ -f "$run/exported/policy.pt" ] && break; sleep 1; done
  # play runs until stopped and may not stop on SIGINT (its one H200 run then hung here): stop it for sure
  kill -INT "$play" 2>/dev/null || true
  sleep 10
  pkill -KILL -P "$play" 2>/dev/null || true
  kill -KILL "$play" 2>/dev/null || true
  wait "$play" || true
  "$PYTHON" -m isaaclab_gr00t.bench.franka_lift frames --policy "$run/exported/policy.pt" --device cuda:0 \
    --steps 200 --num_envs 16 --out "$OUT/franka_lift.gif"
}

case "$STEP" in
  envonly|learn|camera|video) "$STEP" ;;
  all) envonly; learn; camera; video ;;
  *) echo "unknown step '$STEP' (envonly|learn|camera|video|all)" >&2; exit 2 ;;
esac
echo "done: $STEP -> $OUT"
