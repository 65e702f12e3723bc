"""``sitewatch agent --config FILE``: run one site agent until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from agent import camera_commission
from agent.config import load_config, outbox_path
from agent.errors import AgentError, ConfigError
from agent.runner import AgentRunner

log = logging.getLogger("sitewatch.agent")


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
