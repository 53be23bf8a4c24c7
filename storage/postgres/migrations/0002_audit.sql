-- Audit layout: each event is written once to audit_events, and once per
-- subject to audit_event_subjects, whose primary key (kind, id, at,
-- event_id) is the query order. A query for one subject is then a single
-- backward index range scan that stops after LIMIT rows, however many
-- millions of rows the tables hold: no sort, no scan of other subjects'
-- events, then at most LIMIT primary-key lookups into audit_events.
-- INCLUDE (type) lets a type filter be checked from the index alone.
--
-- There is no foreign key from subjects to events: both rows are written by
-- one statement, and a FK check per subject row would be pure write cost.
-- subjects and data are json (not jsonb) so they read back as written.
CREATE TABLE audit_events (
    event_id uuid        NOT NULL PRIMARY KEY,
    type     text        NOT NULL,
    at       timestamptz NOT NULL,
    subjects json        NOT NULL,
    data     json
);

CREATE TABLE audit_event_subjects (
    kind     text        COLLATE "C" NOT NULL,
    id       text        COLLATE "C" NOT NULL,
    at       timestamptz NOT NULL,
    event_id uuid        NOT NULL,
    type     text        NOT NULL,
    CONSTRAINT audit_event_subjects_pkey PRIMARY KEY (kind, id, at, event_id) INCLUDE (type)
);
