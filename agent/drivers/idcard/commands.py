"""The commands a reader session uses, each with its request frame and the SW3 that means success."""

from __future__ import annotations

from enum import Enum

from agent.drivers.idcard.frames import request
from agent.drivers.idcard.status import Sw3


class Command(Enum):
    RESET = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND = (0x20, 0x01)
    SELECT = (0x20, 0x02)
    READ = (0x30, 0x01)

    @property
    def cmd(self) -> int:
        return self.value[0]

    @property
    def para(self) -> int:
        return self.value[1]

    @property
    def success(self) -> int:
        """The SW3 of a positive answer: "card found" for FIND, "OK" for the rest."""
        return Sw3.CARD_FOUND if self is Command.FIND else Sw3.OK

    def frame(self) -> bytes:
        return request(self.cmd, self.para)

    @classmethod
    def of(cls, cmd: int, para: int) -> Command | None:
        for command in cls:
            if command.value == (cmd, para):
                return command
        return None
