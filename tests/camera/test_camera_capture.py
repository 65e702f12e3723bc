"""The capture module on real footage: every frame decoded, only those asked for converted to BGR."""

from __future__ import annotations

import numpy as np
from camera_footage import ONE_BY_ONE, frames, path

from agent.drivers.camera.capture import open_file_once


def test_grabbing_advances_frame_by_frame_and_retrieve_converts_the_last_one() -> None:
    # Frames 0-6 of the one-by-one room as decoded and converted one by one.
    expected = [frame for _, frame in frames(ONE_BY_ONE, stop=7)]
    capture = open_file_once(str(path(ONE_BY_ONE)))
    try:
        assert all(capture.grab() for _ in range(3))
        third = capture.retrieve()
        assert third is not None
        assert third.shape == (432, 768, 3)
        assert np.array_equal(third, expected[2])
        again = capture.retrieve()  # converting again does not advance
        assert again is not None
        assert np.array_equal(again, expected[2])
        assert all(capture.grab() for _ in range(4))  # frames 3-6 decoded, never converted
        seventh = capture.retrieve()
        assert seventh is not None
        assert np.array_equal(seventh, expected[6])
    finally:
        capture.close()
    assert not capture.grab()
    assert capture.retrieve() is None
