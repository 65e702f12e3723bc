"""Generated test identities and cards.  Every value here is made up: no real person is ever used.

Names are ``测试人员NN`` and addresses ``测试地址…``, so generated data is recognisable wherever it shows
up; the ID numbers have region code 99xxxx (a code that belongs to no place, so a generated number is
nobody's), a random birth date and sequence, and a correct check character.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from agent.drivers.idcard import text
from agent.drivers.idcard.idnumber import check_char
from agent.drivers.idcard.privacy import mask
from agent.drivers.idcard.replies import PHOTO_BYTES

# No province has code 99: whatever else is random, the number cannot be a real person's.
TEST_REGION_PREFIX: Final = "99"
TEST_NAME_PREFIX: Final = "测试人员"
TEST_ADDRESS_PREFIX: Final = "测试地址"


def generated_test_identity(rng: random.Random) -> str:
    """A structurally valid, randomly generated ID number (region 99xxxx, random birth date and sequence)."""
    region = f"{TEST_REGION_PREFIX}{rng.randint(1, 20):02d}{rng.randint(1, 30):02d}"
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))
    body = f"{region}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + check_char(body)


@dataclass(frozen=True, slots=True)
class GeneratedCard:
    number: str
    name: str
    sex: str
    nation: str
    birth: date
    address: str
    authority: str
    valid_from: date
    valid_to: date | None
    photo: bytes

    def text_block(self) -> bytes:
        return text.encode(
            name=self.name,
            sex=self.sex,
            nation=self.nation,
            birth=self.birth,
            address=self.address,
            number=self.number,
            authority=self.authority,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
        )

    def __repr__(self) -> str:
        # Generated, but kept out of logs all the same: the privacy tests look for exactly these values.
        return f"GeneratedCard({mask(self.number)})"


def generated_test_card(
    rng: random.Random, index: int, *, today: date, expired: bool = False, long_term: bool = False
) -> GeneratedCard:
    number = generated_test_identity(rng)
    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    valid_to: date | None
    if expired:
        ended = today - timedelta(days=rng.randint(1, 400))
        valid_from, valid_to = date(ended.year - 10, ended.month, min(ended.day, 28)), ended
    else:
        valid_from = today - timedelta(days=rng.randint(30, 9 * 365))
        valid_to = None if long_term else date(valid_from.year + 20, valid_from.month, min(valid_from.day, 28))
    return GeneratedCard(
        number=number,
        name=f"{TEST_NAME_PREFIX}{index:02d}",
        sex="1" if int(number[16]) % 2 else "2",
        nation="01",
        birth=birth,
        address=f"{TEST_ADDRESS_PREFIX}{number[:2]}省测试市测试路{index}号",
        authority="测试市公安局",
        valid_from=valid_from,
        valid_to=valid_to,
        photo=rng.randbytes(PHOTO_BYTES),
    )


def generated_test_cards(seed: int, count: int, *, today: date) -> list[GeneratedCard]:
    """``count`` cards; every 7th is expired and every 5th long-term, so a run shows each validity form."""
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    return [
        generated_test_card(rng, i + 1, today=today, expired=(i % 7 == 6), long_term=(i % 5 == 4)) for i in range(count)
    ]
