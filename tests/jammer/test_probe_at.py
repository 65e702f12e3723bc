"""The sans-I/O AT layer: framing, replies vs unsolicited lines, and the decoders."""

from __future__ import annotations

import pytest

from agent.drivers.probe.at import (
    ATProtocolError,
    ATSession,
    Csq,
    Operator,
    Registration,
    Reply,
    SignalQuality,
    Unsolicited,
    decode,
    fields,
)


def test_a_reply_split_across_reads_comes_out_whole() -> None:
    session = ATSession()
    assert session.request("AT+CESQ") == b"AT+CESQ\r"
    events = []
    for chunk in (b"\r\n+CE", b"SQ: 99,99,255,255,2", b"8,55\r\n\r", b"\nOK\r\n"):
        events += session.feed(chunk)
    assert events == [Reply("AT+CESQ", ("+CESQ: 99,99,255,255,28,55",), "OK")]
    assert session.pending is None


def test_unsolicited_lines_between_reply_lines_are_set_apart_and_echo_is_dropped() -> None:
    session = ATSession()
    session.request("AT+COPS?")
    data = b'AT+COPS?\r\r\n+CEREG: 2\r\n\r\n+COPS: 0\r\n\r\nRING\r\n\r\n+CMTI: "SM",3\r\n\r\nOK\r\n'
    assert session.feed(data) == [
        Unsolicited("+CEREG: 2"),
        Unsolicited("RING"),
        Unsolicited('+CMTI: "SM",3'),
        Reply("AT+COPS?", ("+COPS: 0",), "OK"),
    ]


@pytest.mark.parametrize("final", ["ERROR", "+CME ERROR: 10", "+CME ERROR: SIM not inserted"])
def test_error_results_end_the_command(final: str) -> None:
    session = ATSession()
    session.request("AT+C5GREG?")
    (reply,) = session.feed(f"\r\n{final}\r\n".encode())
    assert isinstance(reply, Reply)
    assert (reply.ok, reply.result, reply.lines) == (False, final, ())


def test_a_late_answer_to_an_abandoned_command_is_discarded() -> None:
    session = ATSession()
    session.request("AT+CSQ")
    session.abandon()
    assert session.feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n") == [Unsolicited("+CSQ: 20,99")]
    assert session.discarded == 1
    session.request("AT+CSQ")
    with pytest.raises(ATProtocolError):
        session.request("AT+CESQ")


def test_line_noise_without_an_end_is_thrown_away() -> None:
    session = ATSession()
    assert session.feed(b"\xff" * 2000) == []
    assert session.discarded == 1
    assert session.feed(b"\r\nRING\r\n") == [Unsolicited("RING")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("+CEREG: 0,1", Registration("eps", 1, solicited=True)),
        ('+CEREG: 2,5,"1A2B","01A2B3C4",7', Registration("eps", 5, solicited=True)),
        ("+CEREG: 2", Registration("eps", 2, solicited=False)),  # a URC: <stat> only
        ('+CEREG: 1,"1A2B","01A2B3C4",7', Registration("eps", 1, solicited=False)),  # a URC with location
        ("+C5GREG: 0,0", Registration("5gs", 0, solicited=True)),
        ('+COPS: 0,0,"CHINA MOBILE",7', Operator("CHINA MOBILE", 7)),
        ("+COPS: 0", Operator(None, None)),
        ("+COPS: 2", Operator(None, None)),
        ("+CESQ: 99,99,255,255,28,55", SignalQuality(-6.0, -85.0)),
        ("+CESQ: 99,99,255,255,255,255", SignalQuality(None, None)),
        ("+CESQ: 99,99,255,255,255,255,80,70,60", SignalQuality(None, None, -3.0, -86.0)),
        ("+CSQ: 22,99", Csq(-69.0)),
        ("+CSQ: 99,99", Csq(None)),
        ("+CESQ: garbage", None),
        ("RING", None),
        ('+CMTI: "SM",3', None),
    ],
)
def test_decoders(line: str, expected: object) -> None:
    assert decode(line) == expected


def test_registration_states_that_mean_a_phone_hears_a_cell() -> None:
    assert [s for s in range(12) if Registration("eps", s, solicited=True).registered] == [1, 5, 6, 7, 8, 9, 10]
    assert SignalQuality(None, -120.0, None, -100.0).best_rsrp_dbm == -100.0
    assert fields(' 0,0,"A, B",7') == ["0", "0", '"A, B"', "7"]
