"""Second-generation resident ID-card readers (SAM module, GA 467-style serial protocol).

The data flows through these modules in this order; only the two adapters touch the outside world:

    ../serial_hotplug  (shared with the probe: pyudev watcher — the only pyudev  ─┐
                        module — and the pure candidate rule for this room's reader) │ adapters feed
    serialport   (pyserial: open, write, read with a deadline; the only one)      ─┘ the supervisor
    frames       (sans-I/O: build requests, parse responses incrementally)
    commands, status, replies   (the command set, SW3 codes, reply payloads)
    machine      (pure: the reader's states and health counters; what to send next)
    supervisor   (one thread per configured reader: runs the machine over a port)
    text, idnumber, record      (the card's text block → a record that refuses to be serialised)
    privacy, checkin            (keyed HMAC, masked form, roster → the only facts that leave)
    driver       (the ``idcard-sam`` Driver the agent's supervisor polls)

A :class:`~agent.drivers.idcard.record.CardRecord` (name, address, photo, full number) exists only inside
the reader's thread, for the time it takes to turn it into check-in facts; it never reaches an event, a
state, a log line or an exception message.
"""
