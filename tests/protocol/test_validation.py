"""protocol.validation: msgspec's errors as a path and a plain reason, every problem of a table, strict ends."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from protocol.validation import Problem, checked, convert, full, problem, validated


class Inner(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        if self.lo > self.hi:
            raise ValueError("lo must not exceed `hi`")


class Table(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, full(r"^[a-z]\S*$")]
    port: Annotated[int, msgspec.Meta(ge=1)] = 1
    inner: Inner = Inner()
    bands: dict[Annotated[str, full(r"^[a-z]+$")], int] = {}


def _problem(data: object) -> Problem:
    with pytest.raises(msgspec.ValidationError) as caught:
        convert(data, Table)
    return problem(caught.value, "devices[2]")


def test_reasons_are_plain_and_placed_at_the_key() -> None:
    assert _problem({"name": "a", "port": "1"}) == Problem("devices[2].port", "expected int, got str", "invalid")
    assert _problem({"name": "a", "prot": 1}) == Problem("devices[2].prot", "unknown key", "unknown")
    assert _problem({}) == Problem("devices[2].name", "field required", "missing")
    # A pattern reads as written, not as msgspec's repr with doubled backslashes and \Z.
    assert _problem({"name": "A"}).reason == r"expected str matching regex '^[a-z]\S*$'"
    # A bad key of a table is placed at the table.
    assert _problem({"name": "a", "bands": {"B": 1}}).path == "devices[2].bands"
    # Our own reasons keep their wording, backticks included.
    assert _problem({"name": "a", "inner": {"lo": 2.0}}) == Problem(
        "devices[2].inner", "lo must not exceed `hi`", "invalid"
    )


def test_a_final_newline_does_not_pass_a_pattern() -> None:
    assert convert({"name": "ab"}, Table).name == "ab"
    assert _problem({"name": "ab\n"}).path == "devices[2].name"


def test_every_problem_of_a_table_is_found() -> None:
    value, found = validated({"port": 0, "inner": {"lo": "x"}, "zoom": 1}, Table, "t")
    assert value is None
    assert [(p.path, p.kind) for p in found] == [
        ("t.name", "missing"),
        ("t.port", "invalid"),
        ("t.inner.lo", "invalid"),
        ("t.zoom", "unknown"),
    ]
    # Checks that span keys run once every key is valid.
    assert validated({"name": "a", "inner": {"lo": 2.0}}, Table, "t") == (
        None,
        [Problem("t.inner", "lo must not exceed `hi`", "invalid")],
    )
    assert validated({"name": "a"}, Table, "t") == (Table(name="a"), [])
    # Not a table at all: msgspec's own reason, at the table's key.
    assert validated([1], Table, "t") == (None, [Problem("t", "expected object, got array", "invalid")])


def test_a_struct_built_in_code_is_checked_on_demand() -> None:
    built = Table(name="a", port=0)  # msgspec does not check constraints here
    with pytest.raises(msgspec.ValidationError, match="port"):
        checked(built)
    assert checked(Table(name="a")) == Table(name="a")
