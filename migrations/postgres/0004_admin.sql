-- The admin dashboard filters deliveries by trigger and pages them by seq,
-- newest first; this index serves that without a scan.
CREATE INDEX deliveries_trigger ON deliveries (trigger_event, seq);
