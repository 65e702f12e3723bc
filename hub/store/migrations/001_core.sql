-- Core schema: current state (agents, devices, sessions), time series, quarantine and alerts.
-- The time-series tables become TimescaleDB hypertables when the server offers the extension (see
-- hub/store/migrate.py); their unique keys include "time" because Timescale requires it, and every
-- key column is NOT NULL because ON CONFLICT on hypertables has a history of bugs with nullable keys.

CREATE TABLE agents (
    agent_id        text PRIMARY KEY,
    city            text NOT NULL,
    site            text NOT NULL,
    name            text NOT NULL,
    boot            text,
    birth_seq       bigint,
    started_at      timestamptz,
    sw_version      text,
    heartbeat_s     double precision,
    online          boolean NOT NULL DEFAULT false,
    offline_reason  text,
    last_seen       timestamptz,              -- hub receive time of the last live message
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_city_site ON agents (city, site);
CREATE INDEX agents_online_last_seen ON agents (last_seen) WHERE online;

-- One row per agent process (boot): when it was born and how it ended.
CREATE TABLE agent_sessions (
    agent_id           text NOT NULL,
    boot               text NOT NULL,
    birth_seq          bigint NOT NULL,
    started_at         timestamptz NOT NULL,
    born_at            timestamptz NOT NULL,  -- device time of the birth
    birth_received_at  timestamptz NOT NULL,
    sw_version         text NOT NULL,
    heartbeat_s        double precision NOT NULL,
    device_count       integer NOT NULL,
    ended_at           timestamptz,
    end_reason         text,
    PRIMARY KEY (agent_id, boot)
);

CREATE TABLE devices (
    agent_id    text NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    device_id   text NOT NULL,
    kind        text NOT NULL,
    driver      text,
    room        text,
    label       text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'unknown',
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz,                  -- device time of the status shown; NULL until one arrives
    PRIMARY KEY (agent_id, device_id)
);

CREATE TABLE heartbeats (
    time             timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    agent_id         text NOT NULL,
    boot             text NOT NULL,
    seq              bigint NOT NULL,
    historical       boolean NOT NULL,
    uptime_s         double precision NOT NULL,
    outbox_depth     integer NOT NULL,
    outbox_oldest_s  double precision
);
CREATE UNIQUE INDEX heartbeats_message ON heartbeats (agent_id, boot, seq, time);
CREATE INDEX heartbeats_agent_time ON heartbeats (agent_id, time DESC);

CREATE TABLE device_states (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    agent_id     text NOT NULL,
    boot         text NOT NULL,
    seq          bigint NOT NULL,
    historical   boolean NOT NULL,
    device_id    text NOT NULL,
    kind         text NOT NULL,
    status       text NOT NULL,
    details      jsonb NOT NULL
);
CREATE UNIQUE INDEX device_states_message ON device_states (agent_id, boot, seq, time, device_id);
CREATE INDEX device_states_device_time ON device_states (agent_id, device_id, time DESC);

CREATE TABLE events (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    agent_id     text NOT NULL,
    boot         text NOT NULL,
    seq          bigint NOT NULL,
    historical   boolean NOT NULL,
    name         text NOT NULL,
    severity     text NOT NULL,
    device_id    text,
    details      jsonb NOT NULL
);
CREATE UNIQUE INDEX events_message ON events (agent_id, boot, seq, time);
CREATE INDEX events_agent_time ON events (agent_id, time DESC);

CREATE TABLE quarantine (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    error_code   text NOT NULL,
    reason       text NOT NULL
);
CREATE INDEX quarantine_received_at ON quarantine (received_at DESC);

CREATE TABLE alerts (
    id           bigserial PRIMARY KEY,
    fingerprint  text NOT NULL,
    kind         text NOT NULL,
    severity     text NOT NULL,
    city         text NOT NULL,
    site         text NOT NULL,
    agent_id     text NOT NULL,
    device_id    text,
    summary      text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    opened_at    timestamptz NOT NULL,
    closed_at    timestamptz
);
-- At most one open alert per fingerprint: opening is INSERT … ON CONFLICT DO NOTHING.
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE closed_at IS NULL;
CREATE INDEX alerts_opened_at ON alerts (opened_at DESC);
CREATE INDEX alerts_open_site ON alerts (city, site) WHERE closed_at IS NULL;
