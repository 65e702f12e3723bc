"""Golden frames from the field notes, and the incremental parser on the ways bytes really arrive."""

from __future__ import annotations

import pytest

from agent.drivers.idcard import frames
from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.frames import BadChecksum, BadLength, Frame, FrameParser, Request, Response
from agent.drivers.idcard.replies import ReplyError, encode_sam_id, format_sam_id, join_read, split_read
from agent.drivers.idcard.status import Sw3, code, describe

# Written out by hand (CHK = XOR of LEN_H .. last body byte), not computed by the code under test.
GOLDEN_REQUESTS = {
    Command.RESET: "AA AA AA 96 69 00 03 10 FF EC",
    Command.SAM_STATUS: "AA AA AA 96 69 00 03 11 FF ED",
    Command.SAM_ID: "AA AA AA 96 69 00 03 12 FF EE",
    Command.FIND: "AA AA AA 96 69 00 03 20 01 22",
    Command.SELECT: "AA AA AA 96 69 00 03 20 02 21",
    Command.READ: "AA AA AA 96 69 00 03 30 01 32",
}
FIND_OK = bytes.fromhex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
FIND_NO_CARD = bytes.fromhex("AA AA AA 96 69 00 08 00 00 80 00 00 00 00 88")
STATUS_OK = bytes.fromhex("AA AA AA 96 69 00 04 00 00 90 94")
SAM_FAILED = bytes.fromhex("AA AA AA 96 69 00 04 00 00 60 64")
READ_FAILED = bytes.fromhex("AA AA AA 96 69 00 04 00 00 41 45")


@pytest.mark.parametrize(("command", "golden"), GOLDEN_REQUESTS.items(), ids=lambda v: getattr(v, "name", ""))
def test_every_command_builds_its_golden_frame(command: Command, golden: str) -> None:
    assert command.frame() == bytes.fromhex(golden)
    [parsed] = FrameParser().feed(bytes.fromhex(golden))
    assert isinstance(parsed, Frame)
    request = Request.from_frame(parsed)
    assert request is not None
    assert Command.of(request.cmd, request.para) is command


@pytest.mark.parametrize(
    ("golden", "sw3", "data"),
    [
        (FIND_OK, Sw3.CARD_FOUND, bytes(4)),
        (FIND_NO_CARD, Sw3.NO_CARD, bytes(4)),
        (STATUS_OK, Sw3.OK, b""),
        (SAM_FAILED, Sw3.SAM_SELF_TEST_FAILED, b""),
        (READ_FAILED, Sw3.READ_FAILED, b""),
    ],
)
def test_golden_responses_parse_and_build(golden: bytes, sw3: int, data: bytes) -> None:
    assert frames.response(sw3, data) == golden
    [parsed] = FrameParser().feed(golden)
    assert isinstance(parsed, Frame)
    response = Response.from_frame(parsed)
    assert response is not None
    assert (response.sw1, response.sw2, response.sw3, response.data) == (0, 0, sw3, data)


def test_a_read_reply_is_1295_bytes_with_text_and_photo_lengths() -> None:
    text, photo = bytes(range(256)), bytes(1024)
    frame = frames.response(Sw3.OK, join_read(text, photo))
    assert len(frame) == 1295
    assert frame[5:7] == bytes.fromhex("0508")  # LEN counts SW(3) + lengths(4) + 256 + 1024 + CHK(1)
    assert frame[10:14] == bytes.fromhex("0100 0400")
    [parsed] = FrameParser().feed(frame)
    assert isinstance(parsed, Frame)
    response = Response.from_frame(parsed)
    assert response is not None
    data = split_read(response.data)
    assert (data.text, data.photo) == (text, photo)


def test_a_read_reply_whose_lengths_do_not_add_up_is_refused() -> None:
    with pytest.raises(ReplyError, match="does not match its header"):
        split_read(join_read(bytes(256), bytes(1024))[:-1])
    with pytest.raises(ReplyError, match="no length header"):
        split_read(b"\x01")


def test_sam_id_formats_as_readers_print_it() -> None:
    data = encode_sam_id(5, 1, 20240517, 12345, 678901)
    assert len(data) == 16
    assert format_sam_id(data) == "05.01-20240517-0000012345-0000678901"
    assert format_sam_id(b"\x01\x02") == "0102"


def test_byte_at_a_time_gives_one_frame_at_the_end() -> None:
    parser = FrameParser()
    out = []
    for i, byte in enumerate(FIND_OK):
        assert parser.needed() >= 1
        got = parser.feed(bytes([byte]))
        if i < len(FIND_OK) - 1:
            assert got == []
        out += got
    assert out == [Frame(FIND_OK[7:-1])]
    assert parser.junk_bytes == 0


def test_needed_asks_for_exactly_the_rest_of_the_frame() -> None:
    parser = FrameParser()
    assert parser.needed() == 7
    parser.feed(FIND_OK[:3])
    assert parser.needed() == 4
    parser.feed(FIND_OK[3:9])
    assert parser.needed() == len(FIND_OK) - 9


def test_junk_before_the_preamble_is_skipped_and_counted() -> None:
    parser = FrameParser()
    junk = bytes([0x01, 0x96, 0x69, 0xAA, 0xAA, 0x00, 0x55])
    assert parser.feed(junk + STATUS_OK) == [Frame(STATUS_OK[7:-1])]
    assert parser.junk_bytes == len(junk)


def test_a_preamble_split_across_reads_is_kept() -> None:
    parser = FrameParser()
    assert parser.feed(b"\x13\x37" + STATUS_OK[:4]) == []
    assert parser.feed(STATUS_OK[4:]) == [Frame(STATUS_OK[7:-1])]
    assert parser.junk_bytes == 2


def test_two_frames_in_one_read_give_two_frames() -> None:
    assert FrameParser().feed(FIND_OK + STATUS_OK) == [Frame(FIND_OK[7:-1]), Frame(STATUS_OK[7:-1])]


def test_a_bad_checksum_is_reported_and_the_next_frame_still_parses() -> None:
    corrupt = FIND_OK[:-1] + b"\x00"
    out = FrameParser().feed(corrupt + STATUS_OK)
    assert out == [BadChecksum(length=8, expected=0x97, got=0x00), Frame(STATUS_OK[7:-1])]


def test_an_impossible_length_is_reported_and_resynchronised() -> None:
    out = FrameParser().feed(frames.PREAMBLE + b"\xff\xff" + STATUS_OK)
    assert out == [BadLength(0xFFFF), Frame(STATUS_OK[7:-1])]
    assert FrameParser().feed(frames.PREAMBLE + b"\x00\x01\x00")[0] == BadLength(1)


def test_reset_drops_a_partial_frame_as_junk() -> None:
    parser = FrameParser()
    parser.feed(FIND_OK[:10])
    parser.reset()
    assert parser.junk_bytes == 10
    assert parser.feed(STATUS_OK) == [Frame(STATUS_OK[7:-1])]


def test_reprs_never_show_a_frame_body() -> None:
    body = "测试人员".encode("utf-16-le")
    frame = Frame(b"\x00\x00\x90" + body)
    response = Response.from_frame(frame)
    assert body.hex() not in repr(frame)
    assert repr(body) not in repr(frame)
    assert repr(body) not in repr(response)
    assert "90" in repr(response)


def test_status_codes_read_as_in_the_manuals() -> None:
    assert code(Sw3.CARD_FOUND) == "9f"
    assert describe(0x60) == "SAM self-test failed (SW3 60)"
    assert describe(0x41) == "read failed (SW3 41)"
    assert describe(0x01) == "unknown status (SW3 01)"
    assert Command.FIND.success == Sw3.CARD_FOUND
    assert Command.READ.success == Sw3.OK
    assert Command.of(0x99, 0x99) is None
