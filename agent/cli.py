"""``sitewatch agent --config FILE``: run one site agent until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import ctypes
import logging
import platform
import signal
import sys
from pathlib import Path
from types import FrameType

from agent import camera_commission
from agent.config import load_config, outbox_path
from agent.errors import AgentError, ConfigError
from agent.runner import AgentRunner

log = logging.getLogger("sitewatch.agent")

# glibc's mallopt parameter (malloc.h): the most malloc arenas the process may have.
M_ARENA_MAX = -8


def tune_malloc() -> bool:
    """Cap glibc malloc at one arena; call before any thread starts.  True when applied.

    glibc gives each thread that allocates its own arena (up to 8 a core) and keeps what was freed there
    for that arena: four camera grab threads and the analysis thread each held their own freed frame and
    decoder buffers.  One arena lets them reuse each other's: 1.5-2.6 MB less resident with four cameras
    and no CPU cost measurable here (bench/camera.py's memory children, issue 5).  A no-op off glibc."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, 1))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="agent_command", metavar="ACTION")
    camera_commission.add_arguments(
        sub.add_parser("commission-camera", help="take a camera's reference view and baseline (vault empty)")
    )
    # Not required here: `commission-camera` takes its own --config after the action name.
    parser.add_argument("--config", type=Path, metavar="FILE", help="the agent's TOML config (required)")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default INFO"
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "agent_command", None) == "commission-camera":
        return camera_commission.run(args)
    if args.config is None:
        print("sitewatch agent: --config FILE is required", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tune_malloc()
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    try:
        runner = AgentRunner(config, outbox_path(config, args.config), base_dir=args.config.resolve().parent)
    except AgentError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received; stopping", signal.Signals(signum).name)
        runner.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("agent %s starting: boot %s, %d devices", config.agent.agent_id, runner.boot, len(config.devices))
    runner.run()
    log.info("agent %s stopped", config.agent.agent_id)
    return 0
