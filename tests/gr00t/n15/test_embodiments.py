"""Embodiment slots and the statistics of ``experiment_cfg/metadata.json``."""

from __future__ import annotations

import numpy as np
import pytest

from isaaclab_gr00t.gr00t.n15 import (
    PUBLISHED_SLOTS,
    MetadataError,
    N15Config,
    UnknownEmbodimentError,
    resolve_embodiment,
)
from isaaclab_gr00t.gr00t.n15.testing import tiny_metadata


def test_published_slots():
    assert PUBLISHED_SLOTS == {"new_embodiment": 31, "oxe_droid": 17, "agibot_genie1": 26, "gr1": 24}


def test_resolve_by_name_and_by_slot_with_statistics_in_file_order():
    metadata = tiny_metadata(N15Config.preset("tiny"))
    by_name = resolve_embodiment("gr1", metadata)
    by_id = resolve_embodiment(24, metadata)
    assert (by_name.name, by_name.slot_id) == (by_id.name, by_id.slot_id) == ("gr1", 24)
    stats = by_name.statistics
    assert list(stats.state) == ["arm", "gripper"] and list(stats.action) == ["arm", "gripper"]
    np.testing.assert_allclose(stats.action["arm"].min, metadata["gr1"]["statistics"]["action"]["arm"]["min"])
    assert stats.state["arm"].dim == 5 and stats.state["gripper"].dim == 1


def test_a_tag_without_metadata_has_no_statistics():
    droid = resolve_embodiment("oxe_droid", tiny_metadata(N15Config.preset("tiny")))
    assert droid.slot_id == 17 and droid.statistics is None


def test_extra_slots_name_a_fine_tuned_tag():
    metadata = {"libero_franka": tiny_metadata(N15Config.preset("tiny"))["gr1"]}
    franka = resolve_embodiment(31, metadata, extra_slots={"libero_franka": 31})
    assert franka.name == "libero_franka" and franka.statistics is not None
    assert resolve_embodiment(31, metadata).name == "new_embodiment"


def test_unknown_embodiment_names_the_known_ones():
    with pytest.raises(UnknownEmbodimentError, match="'gr1' \\(slot 24\\).*'new_embodiment' \\(slot 31\\)"):
        resolve_embodiment("so100", {})
    with pytest.raises(UnknownEmbodimentError, match="slot id 3"):
        resolve_embodiment(3, None)


def test_malformed_statistics_name_the_entry():
    metadata = tiny_metadata(N15Config.preset("tiny"))
    del metadata["gr1"]["statistics"]["state"]["arm"]["q99"]
    with pytest.raises(MetadataError, match="gr1.statistics.state.arm: missing q99"):
        resolve_embodiment("gr1", metadata)
