"""One running agent: a supervisor and its link, started and stopped together.

For the CLI, :meth:`AgentRunner.run` blocks in the calling thread until :meth:`AgentRunner.request_stop`
(a signal handler calls it).  For several agents in one process (tests, the demo), :meth:`start` runs
the loop in a thread and :meth:`stop` ends it.  Either way the link closes last, so its "shutdown"
death is the final message of the boot.
"""

from __future__ import annotations

import threading
from pathlib import Path

from agent.calendar import CalendarKeeper
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.delivery import OutboxSink
from agent.link import Link
from agent.outbox import Outbox, SqliteOutbox
from agent.pump import Pump
from agent.roster import RosterKeeper
from agent.supervisor import Supervisor, new_boot_id
from protocol.messages import Death


class AgentRunner:
    def __init__(
        self,
        config: AgentConfig,
        outbox: Outbox | Path,
        *,
        clock: Clock | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.config = config
        clock = clock or SystemClock()
        boot = new_boot_id()
        self.outbox: Outbox = SqliteOutbox(outbox, config.outbox.capacity) if isinstance(outbox, Path) else outbox
        # The will is registered before the first connect: it ends this boot's birth, which is always seq 0.
        will = Death(agent=config.agent.agent_id, boot=boot, seq=0, ts=clock.now(), reason="will")
        self.link = Link(config.broker, config.agent.path, will, now=clock.now)
        self.sink = OutboxSink(self.outbox)
        self.pump = Pump(
            self.outbox, self.link, self.sink, config.agent.path, resend_after_s=config.outbox.resend_after_s
        )
        self.link.subscriptions = self.pump.subscriptions
        self.link.on_message = self.pump.on_message
        # Beside the outbox (the agent's durable state); in memory only when the outbox is not a file.
        a = config.agent
        saved = outbox.with_name(f"calendar-{a.city}-{a.site}-{a.name}.json") if isinstance(outbox, Path) else None
        self.calendar = CalendarKeeper(a.path.site_id, saved)
        self.calendar.load()
        self.link.on_calendar = self.calendar.offer
        held = outbox.with_name(f"roster-{a.city}-{a.site}-{a.name}.json") if isinstance(outbox, Path) else None
        self.roster = RosterKeeper(a.path.site_id, held)
        self.roster.load()
        self.link.on_roster = self.roster.offer
        self.supervisor = Supervisor(
            config,
            self.sink,
            boot=boot,
            clock=clock,
            outbox_stats=self.outbox.stats,
            base_dir=base_dir,
            calendar=self.calendar,
            roster=self.roster,
        )
        self.link.on_connected = self.supervisor.notify_connected
        self._thread: threading.Thread | None = None
        self._pump_stop = threading.Event()

    @property
    def boot(self) -> str:
        return self.supervisor.boot

    def run(self) -> None:
        pump = threading.Thread(target=self.pump.run, args=(self._pump_stop,), name="agent-pump", daemon=True)
        self.link.start()
        pump.start()
        try:
            self.supervisor.run()
        finally:
            self._pump_stop.set()
            self.sink.wake.set()
            pump.join(10)
            self.link.close()
            self.outbox.close()

    def request_stop(self) -> None:
        self.supervisor.request_stop()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("agent already started")
        self._thread = threading.Thread(target=self.run, name=f"agent-{self.config.agent.agent_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"agent {self.config.agent.agent_id} did not stop within {timeout:g} s")
            self._thread = None
