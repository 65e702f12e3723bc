"""A test IP camera: Debian's GStreamer RTSP server streaming real footage as RTP/JPEG on 127.0.0.1.

Run with Debian's python3 (PyGObject lives in /usr/lib/python3/dist-packages, not in the venv):

    /usr/bin/python3 tests/camera/rtsp_server.py PORT VIDEO.mp4

It prints ``ready`` once it listens on ``rtsp://127.0.0.1:PORT/cam``.  The mp4 is H.264, decoded by
``openh264dec`` from gstreamer1.0-plugins-bad (a dependency of the RTSP server package on Debian 12),
scaled and re-encoded as JPEG so the stream needs nothing beyond plugins-base and -good on the way out.
Every client gets its own pipeline from the start of the file.  Packages: gir1.2-gst-rtsp-server-1.0
gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-gi.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINE = (
    '( filesrc location="{path}" ! qtdemux ! h264parse ! openh264dec ! videoconvert ! videoscale'
    " ! video/x-raw,width=384,height=216,format=I420 ! jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26 )"
)


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    missing = [
        name
        for name in ("qtdemux", "h264parse", "openh264dec", "jpegenc", "rtpjpegpay")
        if not Gst.ElementFactory.find(name)
    ]
    if missing:
        print(f"missing GStreamer elements: {', '.join(missing)}", flush=True)
        sys.exit(3)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE.format(path=path))
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", flush=True)
        sys.exit(4)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
