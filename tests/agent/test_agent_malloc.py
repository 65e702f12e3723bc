"""``tune_malloc``: the agent process keeps one glibc malloc arena however many threads allocate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Four threads each hold a block they allocated while malloc_info() lists the arenas ("<heap nr=…>").
ARENAS = f"""
import ctypes, sys, threading, tempfile
sys.path.insert(0, {str(ROOT)!r})
from agent.cli import tune_malloc
print(tune_malloc() if sys.argv[1] == "tuned" else False)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
held, ready, done = [], threading.Barrier(5), threading.Event()
def worker():
    held.append(libc.malloc(4096))
    ready.wait()
    done.wait()
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
ready.wait()
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(out.name).read().count("<heap nr="))
done.set()
for t in threads:
    t.join()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_one_arena_serves_every_thread() -> None:
    def arenas(mode: str) -> tuple[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, timeout=60, check=True
        )
        applied, count = done.stdout.split()
        return applied, int(count)

    assert arenas("tuned") == ("True", 1)
    applied, untuned = arenas("default")
    assert (applied, untuned > 1) == ("False", True)  # what the cap prevents: an arena per thread
