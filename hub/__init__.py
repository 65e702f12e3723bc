"""The SiteWatch hub: MQTT ingest into PostgreSQL/TimescaleDB, liveness and alerts, the duty-desk dashboard."""
