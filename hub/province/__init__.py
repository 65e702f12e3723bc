"""The province role and what ties a hub's escalation side together: hub-to-hub endpoints (signed
escalations in, acknowledgements back), the duty desk's check-in, and the wiring from the config
(:mod:`hub.province.wiring`)."""
