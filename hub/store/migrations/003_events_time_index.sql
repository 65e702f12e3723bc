-- Events across agents by time: the city's incident timeline (rule R4) and the desk's recent-events views.
-- Plain PostgreSQL needs it to avoid scanning the table; on TimescaleDB chunk exclusion narrows to days, this
-- narrows within them.  The name is the one TimescaleDB gave its default index, so a database whose
-- hypertable already has that index keeps it instead of getting a second copy.
CREATE INDEX IF NOT EXISTS events_time_idx ON events (time DESC);
