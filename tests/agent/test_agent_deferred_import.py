"""``agent.deferred_import``: paho's unused ``urllib.request`` stays out of the agent until something reads it.

Each case runs in a fresh interpreter: which modules are loaded is the subject, and this one has them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_the_agents_mqtt_link_loads_without_http_and_email() -> None:
    loaded = run(
        "import agent.link, paho.mqtt.client\n"
        "print(*(m in sys.modules for m in ('paho.mqtt.client', 'urllib.request', 'http.client', 'email.parser')))\n"
        "print(type(sys.modules['urllib.request']).__name__)"
    )
    # paho is loaded and its import of urllib.request answered, by a stand-in that pulled in nothing.
    assert loaded == ["True", "True", "False", "False", "DeferredModule"]


def test_the_first_read_loads_the_real_module_for_every_way_of_naming_it() -> None:
    loaded = run(
        "import agent, urllib, types\n"
        "import urllib.request as early\n"  # bound before the real import: still works through the stand-in
        "from urllib.request import getproxies, Request\n"
        "print(getproxies.__module__, Request.__name__, 'http.client' in sys.modules)\n"
        "real = sys.modules['urllib.request']\n"
        "print(type(real) is types.ModuleType, urllib.request is real, early.urlopen is real.urlopen)\n"
        "import urllib.request\n"
        "print(urllib.request is real)"
    )
    assert loaded == ["urllib.request", "Request", "True", "True", "True", "True", "True"]


def test_a_module_already_imported_is_left_as_it_is() -> None:
    loaded = run(
        "import urllib.request\n"
        "real = urllib.request\n"
        "import agent\n"
        "print(sys.modules['urllib.request'] is real, type(real).__name__)"
    )
    assert loaded == ["True", "module"]
