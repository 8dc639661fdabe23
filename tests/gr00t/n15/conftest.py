"""A tiny GR00T N1.5 checkpoint folder in the published layout, written once per test session."""

from __future__ import annotations

import shutil

import pytest

from isaaclab_gr00t.gr00t.n15.testing import TinyCheckpoint, write_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> TinyCheckpoint:
    """Read-only: tests that break the folder use :func:`tiny_copy`."""
    return write_tiny_checkpoint(str(tmp_path_factory.mktemp("gr00t_n15")))


@pytest.fixture
def tiny_copy(tiny_checkpoint, tmp_path) -> TinyCheckpoint:
    """A private copy of the tiny checkpoint and processor folders."""
    root = tmp_path / "copy"
    shutil.copytree(tiny_checkpoint.checkpoint_dir, root / "checkpoint")
    shutil.copytree(tiny_checkpoint.processor_dir, root / "processor")
    return TinyCheckpoint(str(root / "checkpoint"), str(root / "processor"), tiny_checkpoint.config,
                          tiny_checkpoint.model)
