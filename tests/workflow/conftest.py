"""Run Isaac Lab's own CLI in a subprocess, offline: no asset server and every non-local connection refused."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


class CliJobs:
    """The workflow tests' CLI jobs, run on two threads (one per core of the 2-core CI machine) from the moment the
    tests are collected, so they overlap the rest of the suite; the tests wait on their own job's future.

    A job is a function of a fresh :class:`OfflineCli`; it raises where a command fails, and the tests that check it
    see that error from ``Future.result()``. All jobs share one asset cache, so each asset is built once.
    """

    def __init__(self, root: Path):
        self.root = root
        self.assets = root / "offline_assets"
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.started: dict[str, tuple[Future, OfflineCli]] = {}

    def start(self, name: str, job: Callable[[OfflineCli], object]) -> tuple[Future, OfflineCli]:
        """Start ``job`` under ``name`` unless it was started already; its future and CLI."""
        if name not in self.started:
            folder = self.root / name
            folder.mkdir()
            cli = OfflineCli(folder, self.assets)
            self.started[name] = (self.pool.submit(job, cli), cli)
        return self.started[name]


CLI_JOBS = pytest.StashKey[CliJobs]()
HERE = Path(__file__).parent


def cli_jobs(config: pytest.Config) -> CliJobs:
    if CLI_JOBS not in config.stash:
        config.stash[CLI_JOBS] = CliJobs(Path(tempfile.mkdtemp(prefix="pytest_workflow_")))
    return config.stash[CLI_JOBS]


def module_jobs(module) -> dict[str, Callable[[OfflineCli], object]]:
    """A test module's ``FAMILIES`` (its CLI jobs), under names unique across modules."""
    short = module.__name__.rsplit(".", 1)[-1]
    return {f"{short}.{name}": job for name, job in getattr(module, "FAMILIES", {}).items()}


USER_TASKS = {
    "long_cartpole.yaml": "id: My-Long-Cartpole\nbase: GR00T-Cartpole-Direct\nenv: {episode_length_s: 10.0}\n"
                          "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n",
    "broken.yaml": "id: My-Broken\nbase: GR00T-Cartpole-Direct\nenv: {gravity_on_mars: 1}\n"
                   "agents:\n  rsl_rl_cfg_entry_point: {preset: stock_ppo}\n",
}
"""A user's task folder: one good spec and one with a field the env config does not have."""


def list_envs(cli: OfflineCli) -> subprocess.CompletedProcess:
    """``isaaclab list_envs --all`` with :data:`USER_TASKS` on ``ISAACLAB_GR00T_TASK_PATH``."""
    folder = cli.cwd.parent / "my_tasks"
    folder.mkdir()
    for name, text in USER_TASKS.items():
        (folder / name).write_text(text)
    cli.env["ISAACLAB_GR00T_TASK_PATH"] = str(folder)
    return cli.run("list_envs", "--all")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the CLI jobs of the collected workflow tests (the listing once, each module's families)."""
    items = [item for item in session.items if HERE in item.path.parents]
    if session.config.option.collectonly or not items:
        return
    jobs = cli_jobs(session.config)
    if any("listed_envs" in item.fixturenames for item in items):
        jobs.start("list_envs", list_envs)
    for module in dict.fromkeys(item.module for item in items):
        for name, job in module_jobs(module).items():
            jobs.start(name, job)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if CLI_JOBS in session.config.stash:
        jobs = session.config.stash[CLI_JOBS]
        jobs.pool.shutdown(wait=True, cancel_futures=True)
        if exitstatus == 0:
            shutil.rmtree(jobs.root, ignore_errors=True)


@pytest.fixture(scope="module")
def runs(request) -> dict[str, tuple[Future, OfflineCli]]:
    """The module's ``FAMILIES`` jobs: family -> (its future, its CLI)."""
    jobs = cli_jobs(request.config)
    short = request.module.__name__.rsplit(".", 1)[-1]
    return {name[len(short) + 1:]: jobs.start(name, job) for name, job in module_jobs(request.module).items()}


@pytest.fixture(scope="session")
def listed_envs(request) -> tuple[Future, OfflineCli]:
    """The one :func:`list_envs` run every listing test reads: its future and CLI."""
    return cli_jobs(request.config).start("list_envs", list_envs)
