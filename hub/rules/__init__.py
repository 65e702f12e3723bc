"""Rules: pure evaluations of what the hub knows (states, calendar, time) into findings and verdicts.

No database, no clock, no MQTT: a caller gathers a snapshot, calls a rule with ``now``, and stores or
raises what comes back.  The same inputs always give the same answer.
"""
