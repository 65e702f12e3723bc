"""From the broker to the store: paho receives (``mqtt``), the writer decodes, stores, then acks (``writer``).

Only :mod:`hub.ingest.mqtt` imports paho; the writer gets an ``ack(mid, qos)`` callable, so it can be
tested without a broker.
"""
