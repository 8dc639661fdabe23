"""GR00T-format datasets (LeRobot v2 + ``meta/modality.json``): the layout, a writer and a validating reader."""

from .layout import DatasetError, Episode

__all__ = ["DatasetError", "Episode"]
