"""Run Isaac Lab's own CLI in a subprocess, offline: no asset server and every non-local connection refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ISAACLAB = str(Path(sys.executable).with_name("isaaclab"))

NETWORK_GUARD = '''
import os, socket
_log = os.environ["NETWORK_ATTEMPTS_LOG"]
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

def _local(host):
    return host in (None, "", "localhost", "::1") or str(host).startswith("127.") or str(host).startswith("/")

def _refuse(what):
    with open(_log, "a") as f:
        f.write(f"{what}\\n")
    raise OSError(f"network disabled by the test: {what}")

def connect(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse(f"connect {address}")
    return _connect(self, address, *args)

def connect_ex(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse(f"connect_ex {address}")
    return _connect_ex(self, address, *args)

def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse(f"getaddrinfo {host}")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''


class OfflineCli:
    """Runs ``isaaclab`` commands in one working folder with the network guard installed.

    ``assets`` is the project's asset cache: the first command that needs an asset builds it there, offline.
    """

    def __init__(self, root: Path, assets: Path):
        self.cwd = root / "work"
        self.cwd.mkdir()
        guard = root / "guard"
        guard.mkdir()
        (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
        (root / "empty_asset_root").mkdir()
        self.network_log = root / "network_attempts.log"
        self.assets = assets
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
            "NETWORK_ATTEMPTS_LOG": str(self.network_log),
            "ISAACSIM_ASSET_ROOT": str(root / "empty_asset_root"),
            "ISAACLAB_GR00T_ASSET_DIR": str(assets),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "2",
            # play_until reads play's output from its log file while it runs: block-buffered, the line it waits for
            # would stay in the child's buffer (a shell without PYTHONUNBUFFERED=1 timed out that way)
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [ISAACLAB, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        assert result.returncode == 0, f"isaaclab {' '.join(args)} failed:\n{output}"
        return result

    def play_until(
        self, *args: str, ready: Callable[[str], bool], run_seconds: float = 2.0, timeout: float = 600
    ) -> str:
        """Start ``isaaclab play``, wait until ``ready(output so far)``, let it run, then stop it like Ctrl+C.

        Returns:
            Everything play printed.
        """
        log_path = self.cwd / f"play_{time.monotonic_ns()}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [ISAACLAB, "play", *args], cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True
            )
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline and process.poll() is None:
                    if ready(log_path.read_text()):
                        time.sleep(run_seconds)
                        assert process.poll() is None, f"play stopped on its own:\n{log_path.read_text()[-5000:]}"
                        return log_path.read_text()
                    time.sleep(1.0)
                raise AssertionError(f"play ended or timed out before it was ready:\n{log_path.read_text()[-5000:]}")
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()

    def play_until_exported(self, *args: str, run_seconds: float = 2.0) -> Path:
        """Play until the exported ONNX policy exists and the policy ran a few seconds; return the export folder."""

        def exported(_: str) -> list[Path]:
            return list(self.cwd.glob("logs/rsl_rl/*/*/exported/policy.onnx"))

        self.play_until(*args, ready=lambda out: bool(exported(out)), run_seconds=run_seconds)
        return exported("")[0].parent

    def network_attempts(self) -> list[str]:
        return self.network_log.read_text().splitlines() if self.network_log.exists() else []


@pytest.fixture(scope="session")
def new_offline_cli(tmp_path_factory) -> Callable[[str], OfflineCli]:
    """Factory of offline CLIs, each in its own folder; all share one asset cache, so each asset is built once.

    Module-scoped fixtures use it to run one ``isaaclab`` command that several tests check.
    """
    assets = tmp_path_factory.mktemp("offline_assets")
    return lambda name: OfflineCli(tmp_path_factory.mktemp(name), assets)


@pytest.fixture(scope="session")
def cli_jobs() -> Iterator[ThreadPoolExecutor]:
    """Runs independent CLI jobs two at a time, one per core of the 2-core CI machine (each ``isaaclab`` process
    spends most of its time importing and building on one core). A job raises where its command fails; the tests
    that check it see that error from ``Future.result()``."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


USER_TASKS = {
    "long_cartpole.yaml": "id: My-Long-Cartpole\nbase: GR00T-Cartpole-Direct\nenv: {episode_length_s: 10.0}\n"
                          "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n",
    "broken.yaml": "id: My-Broken\nbase: GR00T-Cartpole-Direct\nenv: {gravity_on_mars: 1}\n"
                   "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n",
}
"""A user's task folder: one good spec and one with a field the env config does not have."""


@pytest.fixture(scope="session")
def listed_envs(new_offline_cli, cli_jobs) -> Future:
    """One ``isaaclab list_envs --all`` with :data:`USER_TASKS` on ``ISAACLAB_GR00T_TASK_PATH``; its result and
    CLI. Every listing test reads this one run."""
    cli = new_offline_cli("list_envs")
    folder = cli.cwd.parent / "my_tasks"
    folder.mkdir()
    for name, text in USER_TASKS.items():
        (folder / name).write_text(text)
    cli.env["ISAACLAB_GR00T_TASK_PATH"] = str(folder)
    return cli_jobs.submit(lambda: (cli.run("list_envs", "--all"), cli))
