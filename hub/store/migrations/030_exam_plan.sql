-- The exam plan: imported calendars, arrival reports (rule V3), go / no-go results, and where the rules
-- engine has read up to in the append-only tables it watches.

-- Every import is kept; the newest row is the calendar in force.  The file is stored as imported (it is
-- small) and parsed by the same code that checked it, so the hub and `calendar check` can never disagree.
CREATE TABLE calendars (
    id           bigserial PRIMARY KEY,
    imported_at  timestamptz NOT NULL,
    imported_by  text NOT NULL DEFAULT '',
    source       text NOT NULL,
    sha256       text NOT NULL,
    content      text NOT NULL,
    sessions     integer NOT NULL,
    sites        integer NOT NULL
);

-- "The papers are in the vault" (落地报告): opens vault custody at a site, if earlier than arrival_due.
CREATE TABLE arrival_reports (
    id           bigserial PRIMARY KEY,
    city         text NOT NULL,
    site         text NOT NULL,
    arrived_at   timestamptz NOT NULL,
    reported_at  timestamptz NOT NULL,
    reported_by  text NOT NULL,
    comment      text NOT NULL DEFAULT ''
);
CREATE INDEX arrival_reports_site ON arrival_reports (city, site, arrived_at);

CREATE TABLE gonogo_results (
    id            bigserial PRIMARY KEY,
    city          text NOT NULL,
    site          text NOT NULL,
    session       text,
    green         boolean NOT NULL,
    reasons       jsonb NOT NULL,
    checks        jsonb NOT NULL,
    evaluated_at  timestamptz NOT NULL,
    trigger       text NOT NULL CHECK (trigger IN ('schedule', 'demand')),
    requested_by  text NOT NULL DEFAULT ''
);
CREATE INDEX gonogo_results_site ON gonogo_results (city, site, evaluated_at DESC);

-- The receive time up to which the engine has handled check-in events and quarantined messages, so a
-- restarted (or new leading) hub neither repeats nor skips them.
CREATE TABLE rules_cursors (
    name        text PRIMARY KEY,
    position    timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
