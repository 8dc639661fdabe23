"""GR00T-format datasets (LeRobot v2 + ``meta/modality.json``): the layout, a writer and a validating reader."""

from .layout import DatasetError, Episode
from .reader import GR00TDataset
from .writer import DatasetWriter

__all__ = ["DatasetError", "DatasetWriter", "Episode", "GR00TDataset"]
