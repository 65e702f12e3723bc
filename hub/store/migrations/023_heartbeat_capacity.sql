-- The outbox bound an agent reports with each heartbeat, so "outbox near full" (hub/rules/health.py) is a
-- ratio of the agent's own capacity.  NULL for rows from agents older than the field.
ALTER TABLE heartbeats ADD COLUMN IF NOT EXISTS outbox_capacity integer;
