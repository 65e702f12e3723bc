"""The duty desk: sign-in, the scoped JSON API (/api/v1), live updates and the pages (no build step, no CDN)."""

from hub.web.app import create_app
from hub.web.live import LiveHub
from hub.web.ports import DashboardStore

__all__ = ["DashboardStore", "LiveHub", "create_app"]
