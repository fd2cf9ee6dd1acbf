-- The metrics gauges count alerts by state every few seconds, on the
-- daemon's loop. Counting them all read the whole outbox, payloads
-- included: 1.5 s at a million alerts. Delivered alerts are history (a
-- delivered alert never changes state again), so the gauges count only the
-- others, which this index holds, with the age of the oldest pending one
-- (3 ms at a million); each daemon counts its deliveries instead
-- (qingfeng_deliveries_total).
CREATE INDEX IF NOT EXISTS alert_undelivered ON qf.alert (state, created_at) WHERE state <> 'delivered';
