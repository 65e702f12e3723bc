"""The wire contract loads no pydantic: the agent imports it, and pydantic alone is ~10 MB of the agent's memory."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import protocol.codec, protocol.examples, protocol.messages, protocol.plan, protocol.schema_export
from protocol.codec import decode_up, encode
from protocol.examples import examples
message = examples()["heartbeat"]
decode_up("sw/v1/jinan/s01/a1/heartbeat", encode(message))
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))))
"""


def test_the_protocol_package_never_imports_pydantic() -> None:
    # A fresh interpreter: this test process has pydantic loaded already (the hub's tests need it).
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == ""
