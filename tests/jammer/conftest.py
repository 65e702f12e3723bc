"""A real pymodbus server on loopback for the Modbus jammer tests.

The server speaks RTU framing over TCP, so a client on ``socket://127.0.0.1:PORT`` exercises the serial
code path with no hardware (or Modbus TCP framing, for the ``tcp`` transport).  ``bus=True`` makes it
behave like a device on an RS-485 line: a request for another unit id gets no answer at all, where
pymodbus's own server would answer with an exception.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

SIZE = 64
# pymodbus function codes by table, for writing into the server's store from the test.
_WRITE_CODE = {"coil": 5, "discrete": 2, "holding": 6, "input": 4}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackModbus:
    def __init__(self, unit: int, framing: Literal["rtu", "tcp"] = "rtu", bus: bool = True) -> None:
        self.unit = unit
        self.framing = framing
        self.bus = bus
        self.port = free_port()
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="modbus-server", daemon=True)
        self._thread.start()
        self._server: ModbusTcpServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending or not data:
            return data
        self.requests += 1
        # The unit id is the first byte of an RTU frame, the seventh of a Modbus TCP (MBAP) frame.
        unit = data[0] if self.framing == "rtu" else data[6] if len(data) > 6 else None
        return data if not self.bus or unit == self.unit else b""

    def start(self) -> None:
        blocks = (
            [SimData(0, count=SIZE, values=False, datatype=DataType.BITS)],
            [SimData(0, count=SIZE, values=False, datatype=DataType.BITS)],
            [SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)],
        )
        device = SimDevice(id=self.unit, simdata=blocks)
        framer = FramerType.RTU if self.framing == "rtu" else FramerType.SOCKET

        async def serve() -> ModbusTcpServer:
            server = ModbusTcpServer(device, framer=framer, address=("127.0.0.1", self.port), trace_packet=self._trace)
            await server.serve_forever(background=True)
            return server

        self._server = self._run(serve())

    def set(self, table: str, address: int, *values: int | bool) -> None:
        assert self._server is not None, "server stopped"
        server = self._server
        cast = [bool(v) for v in values] if table in ("coil", "discrete") else [int(v) for v in values]
        self._run(server.async_setValues(self.unit, _WRITE_CODE[table], address, cast))  # type: ignore[arg-type]

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._run(server.shutdown())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)


@pytest.fixture
def modbus_server() -> Iterator[Callable[..., LoopbackModbus]]:
    made: list[LoopbackModbus] = []

    def make(unit: int = 7, framing: Literal["rtu", "tcp"] = "rtu", bus: bool = True) -> LoopbackModbus:
        server = LoopbackModbus(unit, framing, bus)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()
