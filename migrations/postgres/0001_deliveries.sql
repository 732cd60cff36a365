-- Every verified delivery, stored before it is acknowledged.
-- Times are microseconds since the Unix epoch, UTC.
CREATE TABLE deliveries (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    -- SHA-256 of the raw body: Cal.com sends no delivery id, so identical
    -- bytes are the same delivery.
    body_sha256     BYTEA   NOT NULL UNIQUE,
    body            BYTEA   NOT NULL,
    received_at     BIGINT  NOT NULL,
    content_type    TEXT,
    webhook_version TEXT,
    remote_addr     TEXT,
    shape           TEXT    NOT NULL,
    trigger_event   TEXT,
    booking_uid     TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT,
    process_count   BIGINT  NOT NULL DEFAULT 0,
    processed_at    BIGINT,
    note            TEXT,
    last_error      TEXT
);

CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_status ON deliveries (status, seq);
CREATE INDEX deliveries_received ON deliveries (received_at);
