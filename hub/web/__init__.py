"""The duty desk's view: JSON API and a dashboard page that polls it (no build step, no CDN)."""

from hub.web.app import SiteQueries, create_app

__all__ = ["SiteQueries", "create_app"]
