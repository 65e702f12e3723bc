-- Candidate rosters (hub/roster): per exam a random HMAC key, and per room the keyed HMACs of the
-- candidates' ID numbers with their masked form.  The numbers themselves are never stored.  The key is
-- the secret that makes the HMACs irreversible: it leaves the hub only on each agent's own roster topic.
CREATE TABLE IF NOT EXISTS exam_keys (
    exam        text PRIMARY KEY,
    key         bytea NOT NULL CHECK (octet_length(key) = 32),
    key_id      text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS roster_imports (
    id           bigserial PRIMARY KEY,
    exam         text NOT NULL REFERENCES exam_keys (exam),
    imported_at  timestamptz NOT NULL,
    imported_by  text NOT NULL,
    source       text NOT NULL,
    candidates   integer NOT NULL,
    rooms        integer NOT NULL
);

-- The rosters in force: an import replaces every room of its exam.
CREATE TABLE IF NOT EXISTS roster_entries (
    exam       text NOT NULL REFERENCES exam_keys (exam),
    city       text NOT NULL,
    site       text NOT NULL,
    room       text NOT NULL,
    candidate  text NOT NULL CHECK (candidate ~ '^[0-9a-f]{64}$'),
    masked     text NOT NULL,
    PRIMARY KEY (exam, candidate)
);
CREATE INDEX IF NOT EXISTS roster_entries_site ON roster_entries (exam, city, site, room);
