"""The capture module on real footage: every frame decoded, only those asked for handed over, in grey (the
decoder's luma plane) unless colour is asked for or the stream has no luma plane."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from camera_footage import ONE_BY_ONE, WALKING, frames, path

from agent.drivers.camera.capture import open_file_once

# The one-by-one clip is limited-range YUV: luma 16-235 where a BGR picture's grey is 0-255.
LIMITED = 255.0 / 219.0


@pytest.mark.parametrize(("colour", "shape"), [(False, (432, 768)), (True, (432, 768, 3))])
def test_grabbing_advances_frame_by_frame_and_retrieve_hands_over_the_last_one(
    colour: bool, shape: tuple[int, ...]
) -> None:
    # Frames 0-6 of the one-by-one room as decoded and handed over one by one.
    expected = [frame for _, frame in frames(ONE_BY_ONE, stop=7, colour=colour)]
    capture = open_file_once(str(path(ONE_BY_ONE)), colour=colour)
    assert capture.grey is not colour
    try:
        assert all(capture.grab() for _ in range(3))
        third = capture.retrieve()
        assert third is not None
        assert third.shape == shape
        assert np.array_equal(third, expected[2])
        again = capture.retrieve()  # handing over again does not advance
        assert again is not None
        assert np.array_equal(again, expected[2])
        assert all(capture.grab() for _ in range(4))  # frames 3-6 decoded, never handed over
        seventh = capture.retrieve()
        assert seventh is not None
        assert np.array_equal(seventh, expected[6])
    finally:
        capture.close()
    assert not capture.grab()
    assert capture.retrieve() is None


def test_grey_frames_are_the_luma_of_the_same_frames_in_colour() -> None:
    # Grey is read without OpenCV's conversion: each frame must be the picture of the colour frame with the
    # same index (the check at open reads a frame and rewinds), not another frame and not another plane.
    greys = [frame for _, frame in frames(ONE_BY_ONE, step=40, stop=400)]
    in_colour = frames(ONE_BY_ONE, step=40, stop=400, colour=True)
    colours = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for _, frame in in_colour]
    assert len(greys) == len(colours) == 10
    for index, grey in enumerate(greys):
        full = np.clip((grey.astype(np.float32) - 16.0) * LIMITED, 0, 255)
        errors = [float(np.abs(full - colour).mean()) for colour in colours]
        assert int(np.argmin(errors)) == index
        assert errors[index] < 1.5, errors[index]


def test_a_stream_without_a_luma_plane_is_read_in_colour() -> None:
    # GIF decodes to a palette: OpenCV would hand over indices, not grey, so the capture converts.
    capture = open_file_once(str(path(WALKING)))
    try:
        assert not capture.grey
        frame = capture.read()
        assert frame is not None
        assert frame.shape == (270, 480, 3)
    finally:
        capture.close()
