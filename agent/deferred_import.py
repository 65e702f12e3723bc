"""Stand-ins for standard modules that a dependency imports but the agent never uses.

paho-mqtt imports ``urllib.request`` at the top of its client only to read proxy settings from the
environment, and reads them only when PySocks is installed, which SiteWatch does not install.  That import
pulls in ``http.client`` and the ``email`` package: 3.0 MB of resident memory in a process that already has
OpenCV, ``ssl`` and ``sqlite3`` (measured 2026-11-28), a tenth of what the camera agent may spend beyond a
bare OpenCV process.  :func:`defer` puts a stand-in in ``sys.modules`` that imports the real module the
first time anything reads an attribute of it, so code that does use the module still works unchanged.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types

# Re-entrant: the real import may itself import a module held by a stand-in.
_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """Imports the module it stands for on the first attribute read, then replaces itself by it."""

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__") and attr.endswith("__"):
            # The import system and tools probe for dunders (``__path__``, ``__file__``): a stand-in has none.
            raise AttributeError(attr)
        return getattr(load(self.__name__), attr)


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if a stand-in held its place."""
    with _lock:
        if isinstance(sys.modules.get(name), DeferredModule):
            del sys.modules[name]
            real = importlib.import_module(name)
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, real)
            return real
        return importlib.import_module(name)


def defer(name: str) -> None:
    """Hold ``name``'s place with a stand-in unless it is imported already (then there is nothing to save)."""
    with _lock:
        if name in sys.modules:
            return
        parent, _, child = name.rpartition(".")
        package = importlib.import_module(parent) if parent else None
        stand_in = DeferredModule(name, f"stands for {name} until first used (agent.deferred_import)")
        stand_in.__spec__ = None
        sys.modules[name] = stand_in
        if package is not None:
            setattr(package, child, stand_in)
