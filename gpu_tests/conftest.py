"""GPU tests: run on a CUDA machine with ``.venv/bin/python -m pytest gpu_tests`` (not collected by the CPU suite).

They fail, rather than skip, without CUDA: a green run here means the GPU paths ran.
"""

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        raise pytest.UsageError("gpu_tests need a CUDA device; the CPU suite is `python -m pytest` (tests/).")
