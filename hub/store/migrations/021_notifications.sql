-- The notification outbox: every message to a notifier (desk webhook or e-mail), to the province, or back
-- to a city hub, written in the transaction that decided it, delivered by the hub's senders with retries
-- and backoff, and kept with its delivery receipt.

CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    -- sent with every attempt (Idempotency-Key): the receiver keeps one copy whatever the retries
    key              uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    -- "<alert id>:<target>:<event>:<n>": the same notification is never queued twice
    dedup            text NOT NULL UNIQUE,
    alert_id         bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    target           text NOT NULL,            -- 'desk:<notifier>', 'province', 'hub:<city hub>'
    event            text NOT NULL,
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,     -- next attempt (a claimed row is leased by moving it on)
    attempts         integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    last_error       text,
    delivered_at     timestamptz,
    receipt          jsonb,
    failed_at        timestamptz               -- given up: not retryable, or retried too long
);
CREATE INDEX notifications_due ON notifications (target, due_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX notifications_alert ON notifications (alert_id);

CREATE FUNCTION sitewatch_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sitewatch_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notifications_queued AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION sitewatch_outbox_notify();

-- What other hubs sent us (province: escalations from city hubs; city: acknowledgements from the
-- province), one row per idempotency key: a retried delivery finds its first receipt.
CREATE TABLE federation_inbox (
    id           bigserial PRIMARY KEY,
    hub          text NOT NULL,
    key          uuid NOT NULL,
    event        text NOT NULL,
    received_at  timestamptz NOT NULL,
    sent_at      timestamptz,
    alert_id     bigint,
    payload      jsonb NOT NULL,
    UNIQUE (hub, key)
);

-- Duty desk check-ins (rule O3), one row per press of the button.
CREATE TABLE duty_checkins (
    id        bigserial PRIMARY KEY,
    city      text NOT NULL,
    at        timestamptz NOT NULL,
    user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    username  text NOT NULL
);
CREATE INDEX duty_checkins_city_at ON duty_checkins (city, at DESC);
