-- Times are INTEGER microseconds since the Unix epoch (UTC): they sort as
-- numbers, compare exactly, and match PostgreSQL's timestamptz precision.
-- user_id/session_id are '' when absent, never NULL, so that the UNIQUE
-- constraint treats "no user" as one value (NULLs would all be distinct).
CREATE TABLE mailbox_messages (
    message_id TEXT    NOT NULL PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    pool       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL,
    -- Delivery is idempotent per task within a mailbox.
    UNIQUE (tenant, user_id, session_id, task_id)
);

-- Reads are "this exact key, oldest first, after a position": one range scan.
CREATE INDEX mailbox_messages_read
    ON mailbox_messages (tenant, user_id, session_id, created_at, message_id);
