-- user_id/session_id are '' when absent, never NULL, so that the UNIQUE
-- constraint treats "no user" as one value (NULLs would all be distinct).
-- COLLATE "C": keys are matched exactly, never sorted for humans, and byte
-- comparison is what the other backends do (and faster than a locale).
-- payload is json, not jsonb, so it reads back byte for byte as written.
CREATE TABLE mailbox_messages (
    message_id uuid        NOT NULL PRIMARY KEY,
    tenant     text        COLLATE "C" NOT NULL,
    user_id    text        COLLATE "C" NOT NULL,
    session_id text        COLLATE "C" NOT NULL,
    task_id    text        COLLATE "C" NOT NULL,
    pool       text        NOT NULL,
    status     text        NOT NULL,
    reason     text        NOT NULL,
    payload    json,
    created_at timestamptz NOT NULL,
    -- Delivery is idempotent per task within a mailbox.
    CONSTRAINT mailbox_messages_task UNIQUE (tenant, user_id, session_id, task_id)
);

-- Reads are "this exact key, oldest first, after a position": one range scan.
CREATE INDEX mailbox_messages_read
    ON mailbox_messages (tenant, user_id, session_id, created_at, message_id);
