-- Every verified delivery, stored before it is acknowledged.
CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    -- SHA-256 of the raw body: Cal.com sends no delivery id, so identical
    -- bytes are the same delivery.
    body_sha256     BLOB    NOT NULL UNIQUE,
    body            BLOB    NOT NULL,
    received_at     TEXT    NOT NULL,
    content_type    TEXT,
    webhook_version TEXT,
    remote_addr     TEXT,
    shape           TEXT    NOT NULL,
    trigger_event   TEXT,
    booking_uid     TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending',
    process_count   INTEGER NOT NULL DEFAULT 0,
    processed_at    TEXT,
    note            TEXT
);

CREATE INDEX deliveries_pending ON deliveries (seq) WHERE status = 'pending';
