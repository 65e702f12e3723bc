-- The alert lifecycle (hub/alerts): one row per fingerprint's alert, reopened while it flaps, with the
-- bookkeeping of what was sent to whom; alerts raised but not yet past their `for` duration; the per-kind
-- policy every hub process reads; label-scoped silences.

ALTER TABLE alerts
    ADD COLUMN occurrences      integer NOT NULL DEFAULT 1,
    -- openings the desk must hear about (first firing, each reopening); holds while flapping do not count
    ADD COLUMN generation       integer NOT NULL DEFAULT 1,
    ADD COLUMN fired_at         timestamptz,            -- when it last (re)opened
    ADD COLUMN active           boolean NOT NULL DEFAULT true,   -- the condition is raised right now
    ADD COLUMN flapping         boolean NOT NULL DEFAULT false,
    ADD COLUMN openings         timestamptz[] NOT NULL DEFAULT '{}',  -- recent (re)openings, for flapping
    ADD COLUMN last_change_at   timestamptz,
    -- dispatching: a change bumps version (trigger below); the dispatcher catches up dispatched_version
    ADD COLUMN version          bigint NOT NULL DEFAULT 1,
    ADD COLUMN dispatched_version bigint NOT NULL DEFAULT 0,
    ADD COLUMN next_action_at   timestamptz,
    ADD COLUMN desk_gen         integer NOT NULL DEFAULT 0,
    ADD COLUMN flap_notified    boolean NOT NULL DEFAULT false,
    ADD COLUMN renotified_at    timestamptz,
    ADD COLUMN renotify_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN province_gen     integer NOT NULL DEFAULT 0,
    ADD COLUMN resolved_gen     integer NOT NULL DEFAULT 0,
    -- NULL: acknowledged on this hub's dashboard; 'remote': by the other hub (not sent back)
    ADD COLUMN ack_source       text,
    ADD COLUMN ack_sent         boolean NOT NULL DEFAULT false,
    -- province: the city hub this alert came from, its id and version there
    ADD COLUMN origin_hub       text,
    ADD COLUMN origin_alert_id  bigint,
    ADD COLUMN origin_version   bigint;

ALTER TABLE alerts ADD COLUMN state text GENERATED ALWAYS AS (
    CASE WHEN closed_at IS NOT NULL THEN 'resolved'
         WHEN acknowledged_at IS NOT NULL THEN 'acknowledged'
         ELSE 'firing' END) STORED;

UPDATE alerts SET fired_at = opened_at, last_change_at = coalesce(closed_at, opened_at),
    active = (closed_at IS NULL), openings = ARRAY[opened_at];
-- Alerts closed before this migration were told (or not) by nobody; nothing to send about them.
UPDATE alerts SET dispatched_version = version WHERE closed_at IS NOT NULL;

CREATE INDEX alerts_undispatched ON alerts (id) WHERE version > dispatched_version;
CREATE INDEX alerts_next_action ON alerts (next_action_at) WHERE next_action_at IS NOT NULL;
CREATE INDEX alerts_fingerprint_closed ON alerts (fingerprint, closed_at DESC);
CREATE UNIQUE INDEX alerts_origin ON alerts (origin_hub, origin_alert_id) WHERE origin_hub IS NOT NULL;
CREATE INDEX alerts_open_inhibitors ON alerts (kind) WHERE closed_at IS NULL AND kind IN ('agent_offline', 'site_offline');

-- Whatever changes how an alert must be told (whoever makes the change: the lifecycle, the dashboard's
-- acknowledge and silence) bumps its version; the dispatcher's own bookkeeping does not.
CREATE FUNCTION sitewatch_alert_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.acknowledged_at, NEW.silenced_until, NEW.closed_at, NEW.active, NEW.flapping, NEW.generation,
        NEW.severity, NEW.occurrences)
       IS DISTINCT FROM
       (OLD.acknowledged_at, OLD.silenced_until, OLD.closed_at, OLD.active, OLD.flapping, OLD.generation,
        OLD.severity, OLD.occurrences) THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER alerts_version BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION sitewatch_alert_version();

-- Wakes the dispatcher when the transaction commits (identical payloads fold into one per transaction).
CREATE FUNCTION sitewatch_alert_dispatch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sitewatch_alerts', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER alerts_dispatch_insert AFTER INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION sitewatch_alert_dispatch();
CREATE TRIGGER alerts_dispatch_update AFTER UPDATE ON alerts
    FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version) EXECUTE FUNCTION sitewatch_alert_dispatch();

-- Raised, not yet firing: invisible to the dashboard until `for_s` has passed with the condition still raised.
CREATE TABLE alert_pending (
    fingerprint   text PRIMARY KEY,
    kind          text NOT NULL,
    severity      text NOT NULL,
    agent_id      text NOT NULL,
    device_id     text,
    summary       text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    since         timestamptz NOT NULL,
    fire_at       timestamptz NOT NULL
);
CREATE INDEX alert_pending_fire_at ON alert_pending (fire_at);

-- The [escalation] policy per alert kind ('*': every other kind), written from the config at start so
-- every hub process sharing the database applies the same.
CREATE TABLE alert_policy (
    kind            text PRIMARY KEY,
    for_s           double precision NOT NULL DEFAULT 0,
    flap_window_s   double precision NOT NULL,
    flap_openings   integer NOT NULL,
    flap_calm_s     double precision NOT NULL
);

-- Silences: label matchers (all must equal), a time box, an author and a reason.
CREATE TABLE silences (
    id             bigserial PRIMARY KEY,
    matchers       jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'object' AND matchers <> '{}'::jsonb),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_by     text NOT NULL,
    created_by_id  bigint REFERENCES users (id) ON DELETE SET NULL,
    reason         text NOT NULL CHECK (reason <> ''),
    created_at     timestamptz NOT NULL,
    expired_by     text
);
CREATE INDEX silences_ends_at ON silences (ends_at);
