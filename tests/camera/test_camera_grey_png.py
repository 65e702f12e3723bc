"""The reference view's PNG read without OpenCV's codecs: the same pixels as OpenCV reads, on real footage;
any other PNG left to OpenCV; a damaged one an error."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_footage import Frame

from agent.drivers.camera import baseline_store, grey_png
from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.baseline import Baseline
from agent.drivers.camera.errors import BaselineFileError


def _greys(frames: list[Frame]) -> list[image.Image]:
    size = image.fit(frames[0].shape[1], frames[0].shape[0], 320, 240)
    return [image.grey_small(f, size) for f in frames]


def test_what_it_writes_it_and_opencv_read_back_the_same(room_with_person: list[Frame]) -> None:
    for grey in _greys(room_with_person[::10]):
        png = grey_png.encode(grey)
        mine = grey_png.decode(png)
        assert mine is not None
        assert mine.dtype == np.uint8
        assert np.array_equal(mine, grey)
        assert np.array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED), grey)


def test_other_pngs_are_left_to_opencv(room_with_person: list[Frame], room_with_person_colour: list[Frame]) -> None:
    grey = _greys(room_with_person[:1])[0]
    ok, filtered = cv2.imencode(".png", grey)  # OpenCV's default: adaptive row filters
    assert ok
    assert grey_png.decode(filtered.tobytes()) is None
    ok, colour = cv2.imencode(".png", room_with_person_colour[0], [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE])
    assert ok
    assert grey_png.decode(colour.tobytes()) is None


def test_a_reference_written_by_opencv_still_loads(tmp_path: Path, room_baseline: Baseline) -> None:
    files = baseline_store.baseline_files(tmp_path, "b", "cam")
    baseline_store.save(files, room_baseline, captured_at=datetime(2026, 6, 6, tzinfo=UTC), source="x")
    ok, filtered = cv2.imencode(".png", room_baseline.reference)
    assert ok
    files.reference.write_bytes(filtered.tobytes())
    loaded = baseline_store.load(files)
    assert loaded is not None
    assert np.array_equal(loaded.reference, room_baseline.reference)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(ihdr: bytes, idat: bytes) -> bytes:
    return grey_png.SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


GOOD_IHDR = struct.pack(">IIBBBBB", 4, 2, 8, 0, 0, 0, 0)


def test_a_hand_made_png_is_read() -> None:
    rows = bytes([0, 1, 2, 3, 4, 0, 5, 6, 7, 8])
    grey = grey_png.decode(_png(GOOD_IHDR, zlib.compress(rows)))
    assert grey is not None
    assert grey.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a", "no PNG signature"),
        (_png(GOOD_IHDR, zlib.compress(bytes(10)))[:-6], "cut short|ends before"),
        (_png(GOOD_IHDR, b"not zlib at all"), "does not inflate"),
        (_png(GOOD_IHDR, zlib.compress(bytes(9))), "9 bytes, expected 10"),
        (_png(GOOD_IHDR[:12], zlib.compress(bytes(10))), "IHDR chunk is 12 bytes"),
        (grey_png.SIGNATURE + _chunk(b"IEND", b""), "without an IHDR"),
    ],
)
def test_a_damaged_png_is_an_error(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        grey_png.decode(data)


def test_a_flipped_bit_fails_the_crc() -> None:
    png = bytearray(_png(GOOD_IHDR, zlib.compress(bytes(10))))
    png[20] ^= 0x01  # inside IHDR's body
    with pytest.raises(ValueError, match="fails its CRC"):
        grey_png.decode(bytes(png))


def test_a_damaged_reference_is_a_baseline_error(tmp_path: Path, room_baseline: Baseline) -> None:
    files = baseline_store.baseline_files(tmp_path, "b", "cam")
    baseline_store.save(files, room_baseline, captured_at=datetime(2026, 6, 6, tzinfo=UTC), source="x")
    files.reference.write_bytes(files.reference.read_bytes()[:-20])
    with pytest.raises(BaselineFileError, match=r"cam\.reference\.png"):
        baseline_store.load(files)
