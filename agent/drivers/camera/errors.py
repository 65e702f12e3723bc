"""Camera errors, under the agent's tree::

DriverError
 └── CameraError          the camera driver cannot work as configured
      ├── CaptureError    a source cannot be opened or read (the grabber retries with backoff)
      └── BaselineFileError  the commissioning files beside the config are missing parts or unreadable
"""

from __future__ import annotations

from agent.errors import DriverError


class CameraError(DriverError):
    """The camera driver cannot work as configured."""


class CaptureError(CameraError):
    """A video source could not be opened or read."""


class BaselineFileError(CameraError):
    """A camera's commissioning files are unreadable or inconsistent."""
