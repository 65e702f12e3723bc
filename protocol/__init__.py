"""The SiteWatch wire contract, shared by agent and hub.

Version 1 (``v1``): topics are built and parsed by :mod:`protocol.topics`, payloads are the msgspec
structs of :mod:`protocol.messages`, and :mod:`protocol.codec` turns bytes into a typed message or raises
a :class:`protocol.errors.ProtocolError` that says what is wrong.
"""

PROTOCOL_VERSION = 1
