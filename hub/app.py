"""``sitewatch hub --config FILE``: ingest, liveness and the dashboard in one process.

Threads: paho's network thread (enqueue only), the writer (batch → one transaction → ack), the
liveness sweeper (its own connection), the rules engine (its own connection; hub/rules/engine.py), and
uvicorn serving the web app — in the main thread for the command, in a thread of its own when
:class:`Hub` is used programmatically (tests, the demo).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

from hub import user_cli
from hub.audit import cli as audit_cli
from hub.calendar import cli as calendar_cli
from hub.calendar.push import CalendarPusher
from hub.config import HubConfig, load_config
from hub.errors import HubConfigError, HubError, StoreUnavailable
from hub.ingest.mqtt import MqttIngest, new_inbox
from hub.ingest.writer import Writer
from hub.province.wiring import ROLES, Escalation, Role
from hub.roster import cli as roster_cli
from hub.roster.push import RosterPusher
from hub.rules.engine import RulesEngine
from hub.rules.health import hub_agent, probe_application_name
from hub.rules.health_runner import HealthRules, HubMonitor, process_slug
from hub.rules.settings import RulesSettings
from hub.stats import Stats, queue_reader
from hub.store import Database, ReadStore, StorageInfo, migrate, wait_for_database
from hub.store.calendar_push import CalendarPushDatabase
from hub.store.health import HealthDatabase, ProbeDatabase
from hub.store.live import ChangeListener
from hub.store.roster import RosterPushDatabase
from hub.store.webstore import WebStore
from hub.sweeper import Sweeper
from hub.web import LiveHub, create_app

log = logging.getLogger("sitewatch.hub")

SERVER_START_TIMEOUT_S = 15.0
THREAD_JOIN_TIMEOUT_S = 10.0


class Hub:
    """One hub.  ``start()`` returns once the HTTP server listens; ``stop()`` is safe to call twice."""

    def __init__(self, config: HubConfig, role: Role = "city") -> None:
        self.config = config
        self.role = role
        self._escalation: Escalation | None = None
        self.stats = Stats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._read_store: ReadStore | None = None
        self._ingest: MqttIngest | None = None
        self._databases: list[Database] = []
        self._server: uvicorn.Server | None = None
        self.storage: StorageInfo | None = None
        self.monitor: HubMonitor | None = None
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------------------

    def prepare(self) -> uvicorn.Server:
        """Database up and migrated, workers running, HTTP server built (not yet serving)."""
        dsn = self.config.dsn()
        conn = wait_for_database(dsn, f"sitewatch-hub-{self.config.hub.name}", self._stop)
        try:
            _applied, storage = migrate(conn)
            escalation = Escalation(self.config, self.role, dsn, self.stats)
            escalation.prepare(conn)
            self._escalation = escalation
        finally:
            conn.close()
        self.storage = storage
        log.info("storage: %s", storage.describe())

        web_store = WebStore(dsn, storage, max_size=8)
        self._read_store = web_store
        web_store.open()
        if self.role == "province":
            return self._prepare_province(dsn, web_store, storage)
        inbox = new_inbox()
        self._ingest = MqttIngest(self.config.mqtt, inbox, self.stats)
        writer_db = Database(dsn, f"sitewatch-hub-{self.config.hub.name}-writer")
        sweeper_db = Database(dsn, f"sitewatch-hub-{self.config.hub.name}-sweeper")
        self._databases = [writer_db, sweeper_db]
        writer = Writer(inbox, writer_db, self._ingest.ack, self.stats, confirm=self._ingest.confirm)
        sweeper = Sweeper(
            sweeper_db,
            self.stats,
            offline_after_s=self.config.liveness.offline_after_s,
            sweep_s=self.config.liveness.sweep_s,
            writer_healthy_for=writer.healthy_for,
            delivery=self.config.delivery,
            request_resend=self._ingest.request_resend,
        )
        self.stats.gauge("queue_depth", inbox.qsize)
        queue = queue_reader(inbox)
        self.stats.gauge("queue_oldest_ms", lambda: round((queue()[1] or 0.0) * 1000))
        self._spawn("hub-writer", writer.run)
        self._spawn("hub-sweeper", sweeper.run)
        rules = RulesSettings.from_section(self.config.rules)
        self._start_rules(dsn, rules, writer, queue)
        calendar_db = CalendarPushDatabase(dsn, f"sitewatch-hub-{self.config.hub.name}-calendar")
        self._databases.append(calendar_db)
        self._spawn("hub-calendar", CalendarPusher(calendar_db, self._ingest.retained_publisher("calendar")).run)
        roster_db = RosterPushDatabase(dsn, f"sitewatch-hub-{self.config.hub.name}-roster")
        self._databases.append(roster_db)
        self._spawn("hub-roster", RosterPusher(roster_db, self._ingest.retained_publisher("roster")).run)
        self._ingest.start()

        live = LiveHub()
        self._spawn("hub-live", ChangeListener(dsn, live.publish).run)
        # uvicorn holds SIGTERM until its connections close, so live streams also watch its own exit flag.
        app = create_app(web_store, self.stats, self.config.web, live=live, stopping=self._http_stopping)
        app.state.rules = rules  # the dashboard's on-demand go / no-go uses the same policy
        app.state.hub_monitor = self.monitor  # /healthz shows what it holds
        escalation.attach(app, storage)
        escalation.start(self._spawn)
        http = self.config.http
        self._server = uvicorn.Server(uvicorn.Config(app, host=http.host, port=http.port, log_level="warning"))
        return self._server

    def _start_rules(
        self, dsn: str, rules: RulesSettings, writer: Writer, queue: Callable[[], tuple[int, float | None]]
    ) -> None:
        """The rules engine (with the health rules) on the leading hub, and this process's own monitor."""
        name = self.config.hub.name
        engine: RulesEngine | None = None
        if self.config.rules.enabled:
            rules_db = HealthDatabase(dsn, f"sitewatch-hub-{name}-rules")
            self._databases.append(rules_db)
            province = self.config.province.url is not None and self.config.province.key_file is not None
            health = HealthRules(rules_db, rules.health, name, province=province)
            engine = RulesEngine(rules_db, rules, writer_healthy_for=writer.healthy_for, health=health)
            self._spawn("hub-rules", engine.run)
        running = engine
        self._start_monitor(dsn, rules, queue, lambda: running is not None and running.session_running)

    def _start_monitor(
        self,
        dsn: str,
        rules: RulesSettings,
        queue: Callable[[], tuple[int, float | None]] = lambda: (0, None),
        in_session: Callable[[], bool] = lambda: False,
    ) -> None:
        """This process's own monitor (database reachable, ingest queue), shown on ``/healthz``."""
        name = self.config.hub.name
        process = process_slug(self.config.mqtt.client_id)
        # Named for the process: the leading hub sees from its connection that the process is there.
        probe_db = ProbeDatabase(dsn, probe_application_name(hub_agent(name, process)))
        self._databases.append(probe_db)
        self.monitor = HubMonitor(probe_db, rules.health, name, process, queue=queue, in_session=in_session)
        self._spawn("hub-health", self.monitor.run)

    def _prepare_province(self, dsn: str, web_store: WebStore, storage: StorageInfo) -> uvicorn.Server:
        """The province role: no agents of its own (no MQTT ingest, liveness or rules) — the city hubs'
        escalations, its dashboard, its acknowledgements back to them, and its own database watched."""
        assert self._escalation is not None
        # Its database can fail like a city hub's: held on /healthz meanwhile, stored once it is back.  No
        # ingest queue here, so only the database is watched.
        self._start_monitor(dsn, RulesSettings.from_section(self.config.rules))
        live = LiveHub()
        self._spawn("hub-live", ChangeListener(dsn, live.publish).run)
        app = create_app(web_store, self.stats, self.config.web, live=live, stopping=self._http_stopping)
        app.state.hub_monitor = self.monitor
        self._escalation.attach(app, storage)
        self._escalation.start(self._spawn)
        http = self.config.http
        self._server = uvicorn.Server(uvicorn.Config(app, host=http.host, port=http.port, log_level="warning"))
        return self._server

    def _http_stopping(self) -> bool:
        return self._stop.is_set() or (self._server is not None and self._server.should_exit)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        def guarded() -> None:
            # A worker that dies silently would leave the hub looking healthy while storing nothing.
            while not self._stop.is_set():
                try:
                    target(self._stop)
                except Exception:
                    log.exception("%s crashed; restarting it in 1 s", name)
                    self._stop.wait(1.0)
                else:
                    return

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start(self) -> None:
        """Run everything in background threads (for tests and the demo)."""
        server = self.prepare()
        thread = threading.Thread(target=server.run, name="hub-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        if not self._wait_listening(server, thread):
            self.stop()
            raise HubError(f"the HTTP server did not start on {self.config.http.host}:{self.config.http.port}")
        self._announce()

    def serve(self) -> None:
        """Run in the calling (main) thread until SIGTERM/SIGINT or :meth:`request_stop`."""
        server = self.prepare()
        if self._stop.is_set():
            return  # a signal arrived while preparing, before uvicorn could hear it
        main = threading.current_thread()

        def announce_when_listening() -> None:
            if self._wait_listening(server, main):
                self._announce()

        threading.Thread(target=announce_when_listening, name="hub-announce", daemon=True).start()
        server.run()

    def _wait_listening(self, server: uvicorn.Server, thread: threading.Thread) -> bool:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started:
            if self._stop.is_set() or not thread.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.request_stop()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(THREAD_JOIN_TIMEOUT_S)
        # After the writer: the acks of its last committed batch go out before the DISCONNECT.
        if self._ingest is not None:
            self._ingest.stop()
        for db in self._databases:
            db.close()
        if self._read_store is not None:
            self._read_store.close()
            self._read_store = None
        if self._escalation is not None:
            self._escalation.close()
        log.info("hub stopped")

    # --- what it serves -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.config.http.host, self.config.http.port
        server = self._server
        if server is not None and server.started and server.servers:
            port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://{host}:{port}/"

    def _announce(self) -> None:
        assert self.storage is not None
        mqtt = self.config.mqtt
        log.info(
            "hub %s running: storage %s; MQTT %s:%d as %s; dashboard %s",
            self.config.hub.name,
            self.storage.describe(),
            mqtt.host,
            mqtt.port,
            mqtt.client_id,
            self.url,
        )


# --- the subcommand ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="hub config (TOML); required to run the hub")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default INFO"
    )
    sub = parser.add_subparsers(dest="hub_command", metavar="SUBCOMMAND")
    user_cli.add_arguments(sub.add_parser("user", help="add, disable or reset the password of a dashboard user"))
    audit_cli.add_arguments(sub.add_parser("audit", help="verify the audit log's hash chain"))
    parser.add_argument(
        "--role",
        dest="hub_role",
        default="city",
        choices=ROLES,
        help="city (default), or province: receive the city hubs' escalations",
    )
    calendar_cli.add_hub_arguments(sub.add_parser("calendar", help="import the exam calendar the rules require"))
    roster_cli.add_hub_arguments(sub.add_parser("roster", help="import an exam's candidate roster (kept as HMACs)"))


def run(args: argparse.Namespace) -> int:
    if args.hub_command == "user":
        return user_cli.run(args)
    if args.hub_command == "audit":
        return audit_cli.run(args)
    if args.hub_command == "calendar":
        return calendar_cli.run_hub(args)
    if args.hub_command == "roster":
        return roster_cli.run_hub(args)
    if args.config is None:
        print("sitewatch hub: --config FILE is required", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The pool warns on every reconnect attempt; the writer already logs an outage once, /healthz shows it.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    try:
        config = load_config(args.config)
    except HubConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    hub = Hub(config, role=args.hub_role)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received, stopping", signal.Signals(signum).name)
        hub.request_stop()

    # Installed before uvicorn runs: it captures these signals while serving and re-raises them to us
    # after it has shut down, so our handler must not be the default (which would kill the process).
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        hub.serve()
    except HubError as exc:
        if isinstance(exc, StoreUnavailable) and hub.stopping:
            return 0  # stopped while still waiting for the database
        print(f"sitewatch hub: {exc}", file=sys.stderr)
        return 1
    finally:
        hub.stop()
    return 0
