-- The notification outbox: one row per (booking event, destination).
-- Rows are inserted in the same transaction that marks a delivery
-- processed, so an applied event always has its notifications queued.
-- `event_key` names the Cal.com event (trigger, booking uid, createdAt), so
-- a redelivery with other bytes, a replay or a crash never adds a second
-- row for the same destination. `id` is the Standard Webhooks `webhook-id`
-- a forward sends, stable across retries.
-- Times are microseconds since the Unix epoch, UTC.
CREATE TABLE notifications (
    id              TEXT   PRIMARY KEY,
    event_key       TEXT   NOT NULL,
    destination     TEXT   NOT NULL,
    delivery_id     TEXT   NOT NULL,
    trigger_event   TEXT   NOT NULL,
    booking_uid     TEXT,
    status          TEXT   NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- When the row was queued (or re-queued by a resend); the give-up
    -- time counts from here.
    queued_at       BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT,
    sent_at         BIGINT,
    send_count      BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    UNIQUE (event_key, destination)
);

CREATE INDEX notifications_due ON notifications (destination, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notifications_delivery ON notifications (delivery_id);
