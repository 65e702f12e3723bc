"""The audit hash chain and request signing, pure: every kind of tampering named, signatures checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.audit.chain import GENESIS, Link, link_hash, verify
from hub.notify import signing
from hub.notify.backoff import RetryPolicy, delay_s, retry_at
from hub.notify.errors import SignatureError

T0 = datetime(2014, 5, 17, 8, 0, tzinfo=UTC)


def chain(n: int) -> list[Link]:
    links, prev = [], GENESIS
    for i in range(1, n + 1):
        fields = {
            "at": T0 + timedelta(seconds=i),
            "username": f"gen-user-{i}",
            "action": "alert.acknowledge",
            "outcome": "ok",
            "target": f"alert {i}",
            "client": "127.0.0.1",
            "details": {"comment": "已处理"},
        }
        digest = link_hash(seq=i, prev_hash=prev, **fields)  # type: ignore[arg-type]
        links.append(Link(id=100 + i, seq=i, prev_hash=prev, hash=digest, **fields))  # type: ignore[arg-type]
        prev = digest
    return links


def test_an_intact_chain_verifies():
    verdict = verify(chain(5))
    assert verdict.intact
    assert verdict.checked == 5
    assert verdict.head_seq == 5
    assert verify([]).intact


TAMPERING = {
    "an edited comment": (lambda ls: [*ls[:2], replace(ls[2], details={"comment": "无事"}), *ls[3:]], 3, "edited"),
    "an edited time": (lambda ls: [*ls[:1], replace(ls[1], at=ls[1].at + timedelta(seconds=1)), *ls[2:]], 2, "edited"),
    "a deleted row": (lambda ls: ls[:3] + ls[4:], 4, "deleted"),
    "the first row deleted": (lambda ls: ls[1:], 1, "deleted"),
    "a row whose hash was recomputed after the edit": (
        lambda ls: [*ls[:2], relinked(replace(ls[2], username="gen-someone-else")), *ls[3:]],
        4,
        "prev_hash",
    ),
}


def relinked(link: Link) -> Link:
    fields = {
        "at": link.at,
        "username": link.username,
        "action": link.action,
        "outcome": link.outcome,
        "target": link.target,
        "client": link.client,
        "details": link.details,
    }
    return replace(link, hash=link_hash(seq=link.seq, prev_hash=link.prev_hash, **fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(("tamper", "seq", "word"), TAMPERING.values(), ids=TAMPERING.keys())
def test_the_first_broken_link_is_named(tamper, seq: int, word: str):
    verdict = verify(tamper(chain(6)))
    assert verdict.broken is not None
    assert verdict.broken.seq == seq
    assert word in verdict.broken.reason
    assert f"seq {seq}" in verdict.broken.describe()


KEY = b"generated-test-key-0123456789abcdef"
BODY = b'{"event":"escalated"}'


def test_a_signature_verifies():
    headers = signing.sign(KEY, BODY, 1_400_000_000.0)
    signing.verify(
        KEY,
        BODY,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        now=1_400_000_100.0,
        max_skew_s=300,
    )


REFUSED = {
    "another key": (b"another-generated-key", BODY, 0, "does not match"),
    "an edited body": (KEY, b'{"event":"resolved"}', 0, "does not match"),
    "a stale timestamp (replayed)": (KEY, BODY, 301, "off"),
}


@pytest.mark.parametrize(("key", "body", "late_s", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_signature_is_refused(key: bytes, body: bytes, late_s: float, reason: str):
    headers = signing.sign(KEY, BODY, 1_400_000_000.0)
    with pytest.raises(SignatureError, match=reason):
        signing.verify(
            key,
            body,
            headers[signing.TIMESTAMP_HEADER],
            headers[signing.SIGNATURE_HEADER],
            now=1_400_000_000.0 + late_s,
            max_skew_s=300,
        )


def test_unsigned_and_garbled_are_refused():
    with pytest.raises(SignatureError, match="not signed"):
        signing.verify(KEY, BODY, None, None, now=0, max_skew_s=300)
    with pytest.raises(SignatureError, match="not a number"):
        signing.verify(KEY, BODY, "soon", "v1=00", now=0, max_skew_s=300)


def test_backoff_doubles_caps_and_gives_up():
    policy = RetryPolicy(initial_s=2, max_s=60, give_up_after_s=3600)
    assert [delay_s(n, policy) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]
    now = T0 + timedelta(seconds=100)
    assert retry_at(attempts=1, created_at=T0, now=now, retryable=True, policy=policy) == now + timedelta(seconds=2)
    assert retry_at(attempts=1, created_at=T0, now=now, retryable=False, policy=policy) is None
    late = T0 + timedelta(seconds=3590)
    assert retry_at(attempts=9, created_at=T0, now=late, retryable=True, policy=policy) is None
