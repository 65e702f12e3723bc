"""One running agent: a supervisor and its link, started and stopped together.

For the CLI, :meth:`AgentRunner.run` blocks in the calling thread until :meth:`AgentRunner.request_stop`
(a signal handler calls it).  For several agents in one process (tests, the demo), :meth:`start` runs
the loop in a thread and :meth:`stop` ends it.  Either way the link closes last, so its "shutdown"
death is the final message of the boot.
"""

from __future__ import annotations

import threading

from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.link import Link
from agent.sink import LinkSink
from agent.supervisor import Supervisor, new_boot_id
from protocol.messages import Death


class AgentRunner:
    def __init__(self, config: AgentConfig, *, clock: Clock | None = None, ack_timeout_s: float = 2.0) -> None:
        self.config = config
        clock = clock or SystemClock()
        boot = new_boot_id()
        # The will is registered before the first connect: it ends this boot's birth, which is always seq 0.
        will = Death(agent=config.agent.agent_id, boot=boot, seq=0, ts=clock.now(), reason="will")
        self.link = Link(config.broker, config.agent.path, will, now=clock.now)
        self.sink = LinkSink(self.link, ack_timeout_s=ack_timeout_s)
        self.supervisor = Supervisor(config, self.sink, boot=boot, clock=clock)
        self.link.on_connected = self.supervisor.notify_connected
        self._thread: threading.Thread | None = None

    @property
    def boot(self) -> str:
        return self.supervisor.boot

    def run(self) -> None:
        self.link.start()
        try:
            self.supervisor.run()
        finally:
            self.link.close()

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
