-- The exam plan version an agent holds, from each heartbeat (protocol: Heartbeat.calendar_version), so the
-- go / no-go can tell an agent that never received the current calendar.  NULL: none held, or an older agent.
ALTER TABLE heartbeats ADD COLUMN IF NOT EXISTS calendar_version text;
