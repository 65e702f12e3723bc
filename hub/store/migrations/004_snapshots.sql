-- Camera pictures that events name by sha256 (vault entries and exits, tamper): custody evidence.
-- Kept as a plain table (rows are large and few); idempotent on the message key like the time series.
CREATE TABLE snapshots (
    time          timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,
    agent_id      text        NOT NULL,
    boot          text        NOT NULL,
    seq           bigint      NOT NULL,
    historical    boolean     NOT NULL,
    device_id     text        NOT NULL,
    sha256        text        NOT NULL,
    content_type  text        NOT NULL,
    width         integer     NOT NULL,
    height        integer     NOT NULL,
    data          bytea       NOT NULL
);
CREATE UNIQUE INDEX snapshots_message ON snapshots (agent_id, boot, seq, time);
CREATE INDEX snapshots_device_time ON snapshots (agent_id, device_id, time DESC);
CREATE INDEX snapshots_sha256 ON snapshots (sha256);
