"""Compatibility hooks into Isaac Lab, installed when the extension's entry point loads."""

from .annotations_hook import install_annotations_hook
from .device_hook import install_device_hook
from .runner_hook import create_runner, install_runner_hook


def install_hooks() -> None:
    """Install every hook (each is idempotent)."""
    install_runner_hook()
    install_device_hook()
    install_annotations_hook()


__all__ = ["create_runner", "install_annotations_hook", "install_device_hook", "install_hooks", "install_runner_hook"]
