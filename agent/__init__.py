"""The SiteWatch site agent: device drivers, the link to the broker, the supervisor that wires them."""

from agent.deferred_import import defer

__version__ = "0.1.0"

# Here, before any agent module imports paho: see agent.deferred_import.
defer("urllib.request")
