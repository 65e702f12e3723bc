"""Signal-jammer drivers: Modbus RTU/TCP with a configured register map, dry contacts read through a Modbus
digital-input module, and a generic HTTP/JSON poll for vendor platforms.

Every jammer driver reports the same details (see :mod:`agent.drivers.jammer.reading`): per band
``band_<name>`` = "on" | "off" | "unknown", ``fault`` and ``faults``, ``temp_c``.  Whether a band *should*
be on is not the driver's business: the hub compares with the exam calendar.  So the device status is
about the device's health only: "fault" when it reports a fault, "ok" otherwise, and a failed read is a
:class:`~agent.errors.DriverError` whose text names the last good poll.
"""
