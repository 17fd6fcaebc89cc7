//! The portal's own records: workspace requests, join requests and the audit log, in an
//! SQLite file (the default, no setup) or in PostgreSQL (for more than one replica).
//!
//! Both dialects go through sqlx's `Any` driver with the same SQL (`$1` placeholders,
//! which SQLite accepts too); only the migrations differ, one embedded folder per
//! dialect. Times are Unix milliseconds (UTC) from an injected [`Clock`].

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Once};

use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is neither `sqlite://…` nor `postgres://…`.
    #[error("unsupported store URL: expected sqlite://PATH or postgres://…, got scheme {scheme:?}")]
    UnsupportedUrl {
        /// The scheme found (never the whole URL: it may hold a password).
        scheme: String,
    },
    /// The SQLite file could not be created.
    #[error("cannot create the SQLite file {path}")]
    CreateFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached.
    #[error("cannot open the {dialect} store")]
    Open {
        /// Which database.
        dialect: Dialect,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the {dialect} store")]
    Migrate {
        /// Which database.
        dialect: Dialect,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store query failed while {doing}")]
    Database {
        /// What the store was doing.
        doing: &'static str,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// No workspace request has this id.
    #[error("no workspace request {id}")]
    WorkspaceRequestNotFound {
        /// The id asked for.
        id: i64,
    },
    /// No join request has this id.
    #[error("no join request {id}")]
    JoinRequestNotFound {
        /// The id asked for.
        id: i64,
    },
    /// A state change not along pending→approved→deployed or pending→rejected.
    #[error("{kind} {id} is {from}: it cannot become {to}")]
    InvalidTransition {
        /// "workspace request" or "join request".
        kind: &'static str,
        /// The request.
        id: i64,
        /// Its current state.
        from: RequestState,
        /// The state asked for.
        to: RequestState,
    },
    /// The group already has a pending or approved workspace request.
    #[error("group {group_id} already has an open workspace request")]
    WorkspaceRequestOpen {
        /// The group.
        group_id: String,
    },
    /// The member already asked to join this group and was not answered yet.
    #[error("{requester} already asked to join {group_id}")]
    JoinRequestOpen {
        /// Who asked.
        requester: String,
        /// The group.
        group_id: String,
    },
    /// A rejection needs a reason the requester can read.
    #[error("a rejection needs a reason")]
    ReasonRequired,
    /// A row holds something this version does not understand.
    #[error("corrupt record in {table}: {what}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        what: String,
    },
    /// An audit entry's detail could not be written as JSON.
    #[error("cannot write the audit export")]
    Export(#[source] serde_json::Error),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Database { doing, source }
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        })
    }
}

/// Where the store takes the time from: Unix milliseconds (UTC).
pub trait Clock: Send + Sync {
    /// The current time in Unix milliseconds.
    fn now_millis(&self) -> i64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now_millis(&self) -> i64 {
        self()
    }
}

/// The state of a workspace or join request. Join requests are never `Deployed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for an admin (or, for a join request, the group's PI or an admin).
    Pending,
    /// Accepted; for a workspace, not yet deployed.
    Approved,
    /// Refused, with a reason.
    Rejected,
    /// The approved workspace exists in the cluster.
    Deployed,
}

impl RequestState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Deployed => "deployed",
        }
    }

    fn parse(s: &str, table: &'static str) -> Result<Self> {
        Ok(match s {
            "pending" => RequestState::Pending,
            "approved" => RequestState::Approved,
            "rejected" => RequestState::Rejected,
            "deployed" => RequestState::Deployed,
            other => {
                return Err(Error::Corrupt {
                    table,
                    what: format!("unknown state {other:?}"),
                });
            }
        })
    }

    /// Whether a workspace request may go from `self` to `to`.
    pub fn workspace_may_become(self, to: RequestState) -> bool {
        matches!(
            (self, to),
            (RequestState::Pending, RequestState::Approved)
                | (RequestState::Pending, RequestState::Rejected)
                | (RequestState::Approved, RequestState::Deployed)
        )
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workspace request as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspaceRequest {
    /// The requester's e-mail.
    pub requester: String,
    /// The group_ID asked for.
    pub group_id: String,
    /// The group form as submitted (the group file's text).
    pub form: String,
    /// Why the workspace is needed.
    pub justification: String,
    /// The principal investigator's e-mail.
    pub pi_email: String,
    /// The end date as submitted (YYYY-MM-DD).
    pub end_date: String,
}

/// A stored workspace request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceRequest {
    /// Its id.
    pub id: i64,
    /// The requester's e-mail.
    pub requester: String,
    /// The group_ID asked for.
    pub group_id: String,
    /// The group form as submitted.
    pub form: String,
    /// Why the workspace is needed.
    pub justification: String,
    /// The principal investigator's e-mail.
    pub pi_email: String,
    /// The end date as submitted.
    pub end_date: String,
    /// Where it stands.
    pub state: RequestState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was submitted (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// Which workspace requests to list; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Only this requester's.
    pub requester: Option<String>,
    /// Only this group's.
    pub group_id: Option<String>,
    /// Only in this state.
    pub state: Option<RequestState>,
}

/// A stored join request: a member asks to join a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinRequest {
    /// Its id.
    pub id: i64,
    /// Who asks (e-mail).
    pub requester: String,
    /// The workspace's group_ID.
    pub group_id: String,
    /// Pending, approved or rejected.
    pub state: RequestState,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why (required for a rejection).
    pub reason: Option<String>,
    /// When it was asked (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who acted (e-mail, or `system`).
    pub actor: String,
    /// What was done (e.g. `workspace.approve`).
    pub action: String,
    /// On what (e.g. a group_ID).
    pub target: String,
    /// Anything else, as JSON.
    pub detail: serde_json::Value,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its id, increasing with every append.
    pub id: i64,
    /// When (Unix ms).
    pub at: i64,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// On what.
    pub target: String,
    /// Anything else.
    pub detail: serde_json::Value,
}

/// Which audit entries to read, newest first. `None` matches everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only on this target.
    pub target: Option<String>,
    /// Only at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only before this time (Unix ms).
    pub until: Option<i64>,
    /// Only entries older than this id: the previous page's [`AuditPage::next`].
    pub before_id: Option<i64>,
    /// At most this many entries (at least 1, at most 1,000).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            actor: None,
            action: None,
            target: None,
            since: None,
            until: None,
            before_id: None,
            limit: 100,
        }
    }
}

/// One page of audit entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// The entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Put this in [`AuditQuery::before_id`] for the next page; `None` on the last page.
    pub next: Option<i64>,
}

static DRIVERS: Once = Once::new();

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The portal's records.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

const WORKSPACE_COLUMNS: &str = "id, requester, group_id, form, justification, pi_email, end_date, state, reason, created_at, updated_at";
const JOIN_COLUMNS: &str =
    "id, requester, group_id, state, decided_by, reason, created_at, updated_at";
const AUDIT_COLUMNS: &str = "id, at, actor, action, target, detail";

impl Store {
    /// Opens the store at `url` with the system clock, creating it and bringing its
    /// schema up to date: `sqlite://PATH` (the file is created, mode 0600, if missing)
    /// or `postgres://…` (the database must exist).
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with_clock(url, Arc::new(SystemClock)).await
    }

    /// [`Store::open`] with the given clock.
    pub async fn open_with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<Store> {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        let (dialect, url) = match scheme {
            "sqlite" => {
                let rest = &url["sqlite://".len()..];
                let path = rest.split_once('?').map_or(rest, |(p, _)| p);
                create_private_file(Path::new(path))?;
                (Dialect::Sqlite, url.to_owned())
            }
            "postgres" | "postgresql" => (Dialect::Postgres, url.to_owned()),
            other => {
                return Err(Error::UnsupportedUrl {
                    scheme: other.to_owned(),
                });
            }
        };
        DRIVERS.call_once(|| {
            // An error means drivers were installed already (by the application): fine.
            let _ = sqlx::any::install_drivers(&[
                sqlx::postgres::any::DRIVER,
                sqlx::sqlite::any::DRIVER,
            ]);
        });
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .connect(&url)
            .await
            .map_err(|source| Error::Open { dialect, source })?;
        let migrator = match dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|source| Error::Migrate { dialect, source })?;
        Ok(Store {
            pool,
            dialect,
            clock,
        })
    }

    /// Which database this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes every connection; waits for queries under way.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- workspace requests ----

    /// Stores a new pending workspace request. Refused while the group has another
    /// pending or approved request.
    pub async fn submit_workspace_request(
        &self,
        new: &NewWorkspaceRequest,
    ) -> Result<WorkspaceRequest> {
        let now = self.clock.now_millis();
        let sql = format!(
            "INSERT INTO workspace_requests (requester, group_id, form, justification, pi_email, end_date, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING {WORKSPACE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.requester)
            .bind(&new.group_id)
            .bind(&new.form)
            .bind(&new.justification)
            .bind(&new.pi_email)
            .bind(&new.end_date)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::WorkspaceRequestOpen {
                        group_id: new.group_id.clone(),
                    }
                } else {
                    Error::Database {
                        doing: "storing a workspace request",
                        source: e,
                    }
                }
            })?;
        workspace_from_row(&row)
    }

    /// The workspace request with this id.
    pub async fn workspace_request(&self, id: i64) -> Result<WorkspaceRequest> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspace_requests WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a workspace request"))?;
        match row {
            Some(row) => workspace_from_row(&row),
            None => Err(Error::WorkspaceRequestNotFound { id }),
        }
    }

    /// The rows of `table` (its `columns`) matching `filter`, oldest first; `what` names
    /// the read in an error.
    async fn filtered(
        &self,
        table: &str,
        columns: &str,
        filter: &RequestFilter,
        what: &'static str,
    ) -> Result<Vec<AnyRow>> {
        let mut sql = format!("SELECT {columns} FROM {table} WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        for (column, value) in [
            ("requester", filter.requester.as_deref()),
            ("group_id", filter.group_id.as_deref()),
            ("state", filter.state.map(RequestState::as_str)),
        ] {
            if let Some(value) = value {
                binds.push(value.to_owned());
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        sql.push_str(" ORDER BY id");
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b.as_str());
        }
        query.fetch_all(&self.pool).await.map_err(db(what))
    }

    /// The workspace requests matching `filter`, oldest first.
    pub async fn workspace_requests(
        &self,
        filter: &RequestFilter,
    ) -> Result<Vec<WorkspaceRequest>> {
        let rows = self
            .filtered(
                "workspace_requests",
                WORKSPACE_COLUMNS,
                filter,
                "listing workspace requests",
            )
            .await?;
        rows.iter().map(workspace_from_row).collect()
    }

    /// Pending → approved.
    pub async fn approve_workspace_request(&self, id: i64) -> Result<WorkspaceRequest> {
        self.move_workspace_request(id, RequestState::Approved, None)
            .await
    }

    /// Pending → rejected, with a reason the requester reads.
    pub async fn reject_workspace_request(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<WorkspaceRequest> {
        if reason.trim().is_empty() {
            return Err(Error::ReasonRequired);
        }
        self.move_workspace_request(id, RequestState::Rejected, Some(reason))
            .await
    }

    /// Approved → deployed.
    pub async fn mark_workspace_deployed(&self, id: i64) -> Result<WorkspaceRequest> {
        self.move_workspace_request(id, RequestState::Deployed, None)
            .await
    }

    async fn move_workspace_request(
        &self,
        id: i64,
        to: RequestState,
        reason: Option<&str>,
    ) -> Result<WorkspaceRequest> {
        let from = match to {
            RequestState::Approved | RequestState::Rejected => RequestState::Pending,
            RequestState::Deployed => RequestState::Approved,
            RequestState::Pending => {
                let current = self.workspace_request(id).await?;
                return Err(Error::InvalidTransition {
                    kind: "workspace request",
                    id,
                    from: current.state,
                    to,
                });
            }
        };
        // The condition on the current state makes the change atomic: of two admins
        // approving and rejecting at once, one gets InvalidTransition.
        let sql = format!(
            "UPDATE workspace_requests SET state = $1, reason = $2, updated_at = $3 \
             WHERE id = $4 AND state = $5 RETURNING {WORKSPACE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(reason)
            .bind(self.clock.now_millis())
            .bind(id)
            .bind(from.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("changing a workspace request's state"))?;
        match row {
            Some(row) => workspace_from_row(&row),
            None => {
                let current = self.workspace_request(id).await?;
                Err(Error::InvalidTransition {
                    kind: "workspace request",
                    id,
                    from: current.state,
                    to,
                })
            }
        }
    }

    // ---- join requests ----

    /// Stores a member's pending request to join a workspace. Refused while the same
    /// member has another pending request for the same group.
    pub async fn submit_join_request(
        &self,
        requester: &str,
        group_id: &str,
    ) -> Result<JoinRequest> {
        let sql = format!(
            "INSERT INTO join_requests (requester, group_id, state, created_at, updated_at) \
             VALUES ($1, $2, 'pending', $3, $3) RETURNING {JOIN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(requester)
            .bind(group_id)
            .bind(self.clock.now_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::JoinRequestOpen {
                        requester: requester.to_owned(),
                        group_id: group_id.to_owned(),
                    }
                } else {
                    Error::Database {
                        doing: "storing a join request",
                        source: e,
                    }
                }
            })?;
        join_from_row(&row)
    }

    /// The join request with this id.
    pub async fn join_request(&self, id: i64) -> Result<JoinRequest> {
        let sql = format!("SELECT {JOIN_COLUMNS} FROM join_requests WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a join request"))?;
        match row {
            Some(row) => join_from_row(&row),
            None => Err(Error::JoinRequestNotFound { id }),
        }
    }

    /// The join requests matching `filter`, oldest first.
    pub async fn join_requests(&self, filter: &RequestFilter) -> Result<Vec<JoinRequest>> {
        let rows = self
            .filtered(
                "join_requests",
                JOIN_COLUMNS,
                filter,
                "listing join requests",
            )
            .await?;
        rows.iter().map(join_from_row).collect()
    }

    /// Pending → approved, by `decided_by`.
    pub async fn approve_join_request(&self, id: i64, decided_by: &str) -> Result<JoinRequest> {
        self.decide_join_request(id, RequestState::Approved, decided_by, None)
            .await
    }

    /// Pending → rejected, by `decided_by`, with a reason the requester reads.
    pub async fn reject_join_request(
        &self,
        id: i64,
        decided_by: &str,
        reason: &str,
    ) -> Result<JoinRequest> {
        if reason.trim().is_empty() {
            return Err(Error::ReasonRequired);
        }
        self.decide_join_request(id, RequestState::Rejected, decided_by, Some(reason))
            .await
    }

    async fn decide_join_request(
        &self,
        id: i64,
        to: RequestState,
        decided_by: &str,
        reason: Option<&str>,
    ) -> Result<JoinRequest> {
        let sql = format!(
            "UPDATE join_requests SET state = $1, decided_by = $2, reason = $3, updated_at = $4 \
             WHERE id = $5 AND state = 'pending' RETURNING {JOIN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(decided_by)
            .bind(reason)
            .bind(self.clock.now_millis())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("deciding a join request"))?;
        match row {
            Some(row) => join_from_row(&row),
            None => {
                let current = self.join_request(id).await?;
                Err(Error::InvalidTransition {
                    kind: "join request",
                    id,
                    from: current.state,
                    to,
                })
            }
        }
    }

    // ---- audit log ----

    /// Appends an entry to the audit log, stamped with the clock's time. There is no
    /// way to change or remove one (the database refuses it too).
    pub async fn audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let sql = format!(
            "INSERT INTO audit_log (at, actor, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {AUDIT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(self.clock.now_millis())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(entry.detail.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db("appending to the audit log"))?;
        audit_from_row(&row)
    }

    /// One page of the audit entries matching `query`, newest first.
    pub async fn audit_entries(&self, query: &AuditQuery) -> Result<AuditPage> {
        enum Bind<'a> {
            Text(&'a str),
            Int(i64),
        }
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1");
        let mut binds: Vec<Bind<'_>> = Vec::new();
        let mut push = |sql: &mut String, condition: &str, bind| {
            binds.push(bind);
            sql.push_str(&format!(" AND {condition} ${}", binds.len()));
        };
        if let Some(v) = &query.actor {
            push(&mut sql, "actor =", Bind::Text(v));
        }
        if let Some(v) = &query.action {
            push(&mut sql, "action =", Bind::Text(v));
        }
        if let Some(v) = &query.target {
            push(&mut sql, "target =", Bind::Text(v));
        }
        if let Some(v) = query.since {
            push(&mut sql, "at >=", Bind::Int(v));
        }
        if let Some(v) = query.until {
            push(&mut sql, "at <", Bind::Int(v));
        }
        if let Some(v) = query.before_id {
            push(&mut sql, "id <", Bind::Int(v));
        }
        let limit = query.limit.clamp(1, 1000);
        // One more than asked tells whether there is a next page.
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit + 1));
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
            };
        }
        let rows = q
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading the audit log"))?;
        let mut entries = rows
            .iter()
            .map(audit_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }
}

/// The entries as a JSON array (each with id, at, actor, action, target, detail).
pub fn audit_to_json(entries: &[AuditEntry]) -> Result<String> {
    serde_json::to_string_pretty(entries).map_err(Error::Export)
}

/// The entries as CSV (RFC 4180): a header line, then one line per entry, every field
/// quoted, quotes doubled, lines ended by CRLF; the detail is its JSON text.
pub fn audit_to_csv(entries: &[AuditEntry]) -> String {
    fn field(out: &mut String, value: &str) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    }
    let mut out = String::from("\"id\",\"at\",\"actor\",\"action\",\"target\",\"detail\"\r\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.to_string(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.detail.to_string(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Creates the SQLite file, readable by its owner only, if it does not exist.
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::CreateFile {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn get<T>(row: &AnyRow, column: &str, table: &'static str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(|e| Error::Corrupt {
        table,
        what: format!("column {column}: {e}"),
    })
}

fn workspace_from_row(row: &AnyRow) -> Result<WorkspaceRequest> {
    const T: &str = "workspace_requests";
    Ok(WorkspaceRequest {
        id: get(row, "id", T)?,
        requester: get(row, "requester", T)?,
        group_id: get(row, "group_id", T)?,
        form: get(row, "form", T)?,
        justification: get(row, "justification", T)?,
        pi_email: get(row, "pi_email", T)?,
        end_date: get(row, "end_date", T)?,
        state: RequestState::parse(&get::<String>(row, "state", T)?, T)?,
        reason: get(row, "reason", T)?,
        created_at: get(row, "created_at", T)?,
        updated_at: get(row, "updated_at", T)?,
    })
}

fn join_from_row(row: &AnyRow) -> Result<JoinRequest> {
    const T: &str = "join_requests";
    Ok(JoinRequest {
        id: get(row, "id", T)?,
        requester: get(row, "requester", T)?,
        group_id: get(row, "group_id", T)?,
        state: RequestState::parse(&get::<String>(row, "state", T)?, T)?,
        decided_by: get(row, "decided_by", T)?,
        reason: get(row, "reason", T)?,
        created_at: get(row, "created_at", T)?,
        updated_at: get(row, "updated_at", T)?,
    })
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry> {
    const T: &str = "audit_log";
    let detail: String = get(row, "detail", T)?;
    Ok(AuditEntry {
        id: get(row, "id", T)?,
        at: get(row, "at", T)?,
        actor: get(row, "actor", T)?,
        action: get(row, "action", T)?,
        target: get(row, "target", T)?,
        detail: serde_json::from_str(&detail).map_err(|e| Error::Corrupt {
            table: T,
            what: format!("detail is not JSON: {e}"),
        })?,
    })
}
