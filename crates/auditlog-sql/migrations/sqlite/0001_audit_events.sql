-- One row per counter: the next seq of each stream and the hash of its last
-- event. Writers of a stream update it in their own transaction, so seq is
-- gap-free (a rollback undoes the increment) and writers of one stream
-- serialize on it.
CREATE TABLE audit_streams (
    stream TEXT PRIMARY KEY NOT NULL,
    next_seq INTEGER NOT NULL CHECK (next_seq >= 1),
    last_hash TEXT
);

-- One row per event (and per checkpoint): the published line byte for
-- byte, then copies of the members people filter on.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    -- events: their position in the stream; checkpoints: how many events
    -- they vouch for.
    seq INTEGER NOT NULL,
    is_checkpoint BOOLEAN NOT NULL DEFAULT FALSE,
    event_id TEXT NOT NULL UNIQUE,
    line TEXT NOT NULL,
    ts TEXT,
    tenant TEXT,
    user_id TEXT,
    action TEXT,
    method TEXT,
    resource TEXT,
    resource_id TEXT,
    severity TEXT,
    -- INFO 0, WARNING 1, ERROR 2, CRITICAL 3 (other values 4): severity ranges.
    severity_rank INTEGER,
    status TEXT,
    source_ip TEXT,
    trace_id TEXT,
    transaction_id TEXT,
    hash TEXT NOT NULL,
    prev TEXT,
    link TEXT NOT NULL,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- NULL until a relay has delivered the row.
    delivered_at TEXT
);

CREATE UNIQUE INDEX audit_events_stream_seq ON audit_events (stream, seq) WHERE NOT is_checkpoint;
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_tenant_ts ON audit_events (tenant, ts);
CREATE INDEX audit_events_user_ts ON audit_events (user_id, ts);
CREATE INDEX audit_events_action_ts ON audit_events (action, ts);
CREATE INDEX audit_events_resource ON audit_events (resource, resource_id, ts);
CREATE INDEX audit_events_severity_ts ON audit_events (severity_rank, ts);
CREATE INDEX audit_events_status_ts ON audit_events (status, ts);
CREATE INDEX audit_events_source_ip ON audit_events (source_ip, ts);
CREATE INDEX audit_events_trace_id ON audit_events (trace_id);
CREATE INDEX audit_events_transaction_id ON audit_events (transaction_id);
CREATE INDEX audit_events_undelivered ON audit_events (id) WHERE delivered_at IS NULL;
