-- The bookings ledger: one row per Cal.com booking uid. `record` is the
-- ledger's JSON (src/ledger); the other columns are copies for queries.
-- Times are microseconds since the Unix epoch, UTC.
CREATE TABLE bookings (
    uid        TEXT   PRIMARY KEY,
    status     TEXT,
    start_at   BIGINT,
    end_at     BIGINT,
    updated_at BIGINT NOT NULL,
    record     TEXT   NOT NULL
);

CREATE INDEX bookings_start ON bookings (start_at);
CREATE INDEX bookings_status ON bookings (status, start_at);
