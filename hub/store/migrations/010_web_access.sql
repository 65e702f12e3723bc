-- The duty desk's side of the database: who may sign in (users), their server-side sessions, the audit
-- log, who acknowledged or silenced an alert, and change notifications for the live dashboard.

CREATE TABLE users (
    id                   bigserial PRIMARY KEY,
    username             text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    role                 text NOT NULL CHECK (role IN ('city', 'provincial', 'admin')),
    city                 text,
    password_hash        text NOT NULL,               -- argon2id, PHC string
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL,
    password_changed_at  timestamptz NOT NULL,
    -- A city duty officer belongs to exactly one city; nobody else is tied to one.
    CHECK ((role = 'city') = (city IS NOT NULL))
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE web_sessions (
    -- sha256 of the cookie's token: reading this table gives nobody a usable session.
    token_hash    text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,               -- the absolute limit, whatever the activity
    revoked_at    timestamptz,
    client        text NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    username  text NOT NULL DEFAULT '',
    action    text NOT NULL,
    outcome   text NOT NULL,
    target    text NOT NULL DEFAULT '',
    client    text NOT NULL DEFAULT '',
    details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- Acknowledgement names a person (rule R3); the alert lifecycle builds on these columns.
ALTER TABLE alerts
    ADD COLUMN acknowledged_at     timestamptz,
    ADD COLUMN acknowledged_by     text,
    ADD COLUMN acknowledged_by_id  bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN ack_comment         text,
    ADD COLUMN silenced_until      timestamptz,
    ADD COLUMN silenced_by         text,
    ADD COLUMN silence_comment     text;

-- Live dashboard: a NOTIFY per changed site, sent when the writing transaction commits (so the writer,
-- the sweeper and the web need no hook of their own).  Payload: "<what> <city>/<site>".  PostgreSQL
-- folds identical payloads within one transaction, so a batch touching 50 devices of a site sends one.
CREATE FUNCTION sitewatch_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    agent text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        agent := OLD.agent_id;
    ELSE
        agent := NEW.agent_id;
    END IF;
    PERFORM pg_notify('sitewatch_changes',
        TG_ARGV[0] || ' ' || split_part(agent, '/', 1) || '/' || split_part(agent, '/', 2));
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_changed_insert AFTER INSERT ON agents
    FOR EACH ROW EXECUTE FUNCTION sitewatch_notify_change('agent');
-- Not on last_seen alone: every heartbeat moves it, and no colour changes with it.
CREATE TRIGGER agents_changed_update AFTER UPDATE ON agents
    FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online
        OR OLD.offline_reason IS DISTINCT FROM NEW.offline_reason
        OR OLD.boot IS DISTINCT FROM NEW.boot
        OR OLD.sw_version IS DISTINCT FROM NEW.sw_version)
    EXECUTE FUNCTION sitewatch_notify_change('agent');

CREATE TRIGGER devices_changed_insert_delete AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION sitewatch_notify_change('device');
CREATE TRIGGER devices_changed_update AFTER UPDATE ON devices
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.details IS DISTINCT FROM NEW.details
        OR OLD.label IS DISTINCT FROM NEW.label
        OR OLD.room IS DISTINCT FROM NEW.room)
    EXECUTE FUNCTION sitewatch_notify_change('device');

CREATE TRIGGER alerts_changed AFTER INSERT OR UPDATE OR DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION sitewatch_notify_change('alert');

CREATE TRIGGER events_changed AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION sitewatch_notify_change('event');
