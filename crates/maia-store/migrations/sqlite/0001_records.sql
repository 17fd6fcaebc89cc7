-- The portal's records. Times are Unix milliseconds (UTC), set by the store's clock.
CREATE TABLE workspace_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    requester     TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    form          TEXT NOT NULL,
    justification TEXT NOT NULL,
    pi_email      TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'deployed')),
    reason        TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- At most one open (pending or approved) request per group.
CREATE UNIQUE INDEX workspace_requests_open_group
    ON workspace_requests (group_id) WHERE state IN ('pending', 'approved');
CREATE INDEX workspace_requests_requester ON workspace_requests (requester);

CREATE TABLE join_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    requester  TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    reason     TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one pending request per member and group.
CREATE UNIQUE INDEX join_requests_pending
    ON join_requests (requester, group_id) WHERE state = 'pending';
CREATE INDEX join_requests_group ON join_requests (group_id);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_target ON audit_log (target);
-- Append-only, also for whoever reaches the database directly.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
