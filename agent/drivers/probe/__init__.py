"""The cellular probe: a modem in the exam room, asked over AT commands whether phones there have service.

at       sans-I/O: frames bytes into lines, pairs replies with the command asked, sets unsolicited
         lines apart, and decodes +CEREG / +C5GREG / +COPS / +CESQ / +CSQ into typed observations
judge    pure: observations → a sample per query cycle → a verdict over a time window
serial_io   the only pyserial module
driver   the ``at-probe`` driver: a worker thread asks the modem; ``poll`` reads the verdict
"""
