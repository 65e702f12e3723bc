"""The SiteWatch site agent: device drivers, the link to the broker, the supervisor that wires them."""

__version__ = "0.1.0"
