"""A private Mosquitto and PostgreSQL for development and tests: ``Stack(settings).up()``.

Everything the stack owns lives in one state directory (configs, logs, data, PID files), so two stacks with
different state directories and ports run side by side, and ``down()`` stops exactly the processes it
recorded. Not for production: the broker listens on loopback without TLS, plus — with ``mqtt_tls_port`` — a
loopback TLS listener that requires client certificates from the private CA (``sitewatch pki``) and
confines each agent to its own topics, as the production broker does.
"""

from __future__ import annotations

from hub.stack.errors import StackError
from hub.stack.settings import StackInfo, StackSettings
from hub.stack.stack import Stack

__all__ = ["Stack", "StackError", "StackInfo", "StackSettings"]
