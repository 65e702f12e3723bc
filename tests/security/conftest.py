"""Collect garbage after each test that ran paho clients.

paho closes a client's wake-up socket pair only in ``Client.__del__``, and ``Link``, ``MqttIngest`` and the
helpers' clients sit in reference cycles with their paho client. Left to a late collection, those sockets
were sometimes reported as unclosed (a ResourceWarning at the end of the session, an error here); collected
while each test's clients are fresh, they never were.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_paho_clients(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("integration") is not None:
        gc.collect()
