-- A device's hardware identity (an ID-card reader's SAM id) as its agent's latest birth announced it, and
-- every birth an agent sent: a boot announces a fresh birth under the next seq when its inventory or an
-- identity changes, so births hold seqs the gap finder must count as delivered, and the inventories
-- kept here tell which reader stood in which room when.
ALTER TABLE devices ADD COLUMN identity text;

CREATE TABLE agent_births (
    agent_id     text        NOT NULL,
    boot         text        NOT NULL,
    seq          bigint      NOT NULL,
    born_at      timestamptz NOT NULL,  -- device time of the birth
    received_at  timestamptz NOT NULL,
    devices      jsonb       NOT NULL,
    PRIMARY KEY (agent_id, boot, seq)
);
CREATE INDEX agent_births_born_at ON agent_births (born_at);
