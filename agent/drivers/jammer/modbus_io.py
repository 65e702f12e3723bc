"""The only module that imports pymodbus: one Modbus client, RTU over a serial port (or any pyserial URL such
as ``socket://host:port``) or Modbus TCP, reading blocks of coils, inputs or registers.

pymodbus's own errors become :class:`ModbusError` subclasses here, with text an operator can act on.
After any failure the connection is dropped, so the next read starts clean (no half-received frame).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agent.drivers.jammer.regmap import Block
from agent.errors import DriverError

if TYPE_CHECKING:
    from pymodbus.client import ModbusSerialClient, ModbusTcpClient

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
_TABLE_WORDS = {
    "coil": "coils",
    "discrete": "discrete inputs",
    "holding": "holding registers",
    "input": "input registers",
}


class ModbusError(DriverError):
    """A Modbus read failed."""


class ModbusUnreachable(ModbusError):
    """The port cannot be opened or the connection was lost."""


class ModbusNoReply(ModbusError):
    """The request went out and nothing came back in time: the unit id is wrong or the device is off the bus."""


class ModbusRefused(ModbusError):
    """The device answered with a Modbus exception."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True, slots=True)
class ModbusTarget:
    transport: Literal["rtu", "tcp"]
    # rtu: a serial device or pyserial URL; tcp: host name or address.
    where: str
    unit: int
    timeout_s: float
    tcp_port: int = 502
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1

    def __str__(self) -> str:
        place = f"{self.where}:{self.tcp_port}" if self.transport == "tcp" else self.where
        return f"unit {self.unit} at {place}"


class ModbusLink:
    def __init__(self, target: ModbusTarget) -> None:
        try:
            from pymodbus import FramerType  # noqa: PLC0415  # a hardware library, imported by the driver that uses it
            from pymodbus.client import ModbusSerialClient, ModbusTcpClient  # noqa: PLC0415
        except ImportError as exc:
            raise ModbusError(f"pymodbus is not installed: {exc}") from exc
        _quiet_pymodbus()
        self.target = target
        self._client: ModbusSerialClient | ModbusTcpClient
        if target.transport == "tcp":
            self._client = ModbusTcpClient(
                target.where, port=target.tcp_port, framer=FramerType.SOCKET, timeout=target.timeout_s, retries=0
            )
        else:
            self._client = ModbusSerialClient(
                target.where,
                framer=FramerType.RTU,
                baudrate=target.baudrate,
                parity=target.parity,
                stopbits=target.stopbits,
                timeout=target.timeout_s,
                retries=0,
            )

    def read(self, block: Block) -> list[int]:
        """Read one block; bits come back as 0 / 1."""
        from pymodbus.exceptions import ConnectionException, ModbusException  # noqa: PLC0415

        if not self._client.connected and not self._client.connect():
            raise ModbusUnreachable(f"cannot open {self._place()}")
        what = f"{_TABLE_WORDS[block.table]} {block.start}–{block.start + block.count - 1}"
        try:
            response = self._request(block)
        except ConnectionException as exc:
            self.close()
            raise ModbusUnreachable(f"lost the connection to {self._place()} reading {what}") from exc
        except ModbusException as exc:
            self.close()
            raise ModbusNoReply(
                f"no reply from {self.target} within {self.target.timeout_s:g} s reading {what} "
                "(wrong unit id, wiring, or the device is off)"
            ) from exc
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise ModbusRefused(f"{self.target} refused reading {what}: exception {code} ({name})", code)
        values: list[int] = (
            [int(b) for b in response.bits[: block.count]]
            if block.table in ("coil", "discrete")
            else list(response.registers[: block.count])
        )
        if len(values) < block.count:
            self.close()
            raise ModbusError(f"{self.target} sent {len(values)} values for {what}")
        return values

    def _request(self, block: Block) -> Any:
        unit = self.target.unit
        if block.table == "coil":
            return self._client.read_coils(block.start, count=block.count, device_id=unit)
        if block.table == "discrete":
            return self._client.read_discrete_inputs(block.start, count=block.count, device_id=unit)
        if block.table == "holding":
            return self._client.read_holding_registers(block.start, count=block.count, device_id=unit)
        return self._client.read_input_registers(block.start, count=block.count, device_id=unit)

    def _place(self) -> str:
        t = self.target
        return f"{t.where}:{t.tcp_port}" if t.transport == "tcp" else t.where

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]  # pymodbus leaves close() unannotated


def _quiet_pymodbus() -> None:
    # pymodbus logs every failed request at ERROR with a frame dump, once per poll; the driver reports the
    # same failure as the device's fault state, logged once per streak.  Left alone if someone configured it.
    logger = logging.getLogger("pymodbus")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.CRITICAL)
