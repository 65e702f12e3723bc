-- Zero-loss delivery: what a quarantined message claimed to be, and the sequence gaps the hub found.

-- A refused message whose topic and JSON were readable still tells which (agent, boot, seq) it was:
-- it was received (and confirmed to the agent), so it must not count as missing.
ALTER TABLE quarantine ADD COLUMN agent_id text, ADD COLUMN boot text, ADD COLUMN seq bigint;
CREATE INDEX quarantine_message ON quarantine (agent_id, boot, seq) WHERE agent_id IS NOT NULL;

-- A run of sequence numbers of one boot that did not arrive within the gap timeout.  Open while
-- missing (the hub asks the agent to resend); closed as 'filled' when it arrives, or recorded
-- closed as 'thinned' when the agent reported dropping those periodic readings to stay within its
-- outbox bound.
CREATE TABLE seq_gaps (
    id                  bigserial PRIMARY KEY,
    agent_id            text        NOT NULL,
    boot                text        NOT NULL,
    first_seq           bigint      NOT NULL,
    last_seq            bigint      NOT NULL,
    missing             integer     NOT NULL,
    detected_at         timestamptz NOT NULL,
    resend_requested_at timestamptz,
    resend_count        integer     NOT NULL DEFAULT 0,
    closed_at           timestamptz,
    outcome             text CHECK (outcome IN ('filled', 'thinned')),
    UNIQUE (agent_id, boot, first_seq)
);
CREATE INDEX seq_gaps_open ON seq_gaps (agent_id) WHERE closed_at IS NULL;
