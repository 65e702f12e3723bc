"""The vault camera driver (rules V4-V7): feed health, tamper detection and occupancy from RTSP, USB,
file or synthetic sources.

    config.py          the ``driver = "camera"`` config entry
    errors.py          CameraError, CaptureError, BaselineFileError
    source.py          what a ``source`` string names (pure)
    capture.py         the one module that touches ``cv2.VideoCapture``
    synthetic.py       the demo's generated room with people walking in and out
    udev.py            USB cameras through pyudev's video4linux subsystem
    openers.py         source → open function
    grabber.py         one grab thread per camera: converts only frames asked for, reopen with backoff, watchdog
    analysis/          pure analysis: frames and times in, typed states and changes out
    worker.py          the analysis thread shared by all cameras: paces each analyser at ``fps``
    snapshot.py        bounded JPEG snapshots, kept on the agent by hash
    commissioning.py   frames of the empty vault → baseline, or reasons to refuse (pure)
    baseline_store.py  the commissioning files beside the config
    report.py          analysis → state details and events
    driver.py          the :class:`~agent.drivers.base.Driver` the supervisor polls

Only ``config``, ``source`` and ``driver`` load at import time; OpenCV loads when a camera starts.
README.md has the config keys, the state details and events, and commissioning.
"""
