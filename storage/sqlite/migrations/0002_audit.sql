-- Audit layout: each event is written once to audit_events, and once per
-- subject to audit_event_subjects, whose primary key (kind, id, at,
-- event_id) is the query order. A query for one subject is then a single
-- backward range scan of that key that stops after LIMIT rows, whatever the
-- table size: no sort, no scan of other subjects' events. WITHOUT ROWID
-- makes the key the table itself (no second copy), and type rides along in
-- the row so type filters need no lookup of the event.
CREATE TABLE audit_events (
    event_id TEXT    NOT NULL PRIMARY KEY,
    type     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    subjects TEXT    NOT NULL, -- JSON array, returned as is
    data     TEXT
);

CREATE TABLE audit_event_subjects (
    kind     TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    event_id TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    PRIMARY KEY (kind, id, at, event_id)
) WITHOUT ROWID;
