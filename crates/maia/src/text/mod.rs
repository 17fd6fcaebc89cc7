//! Results and events as a person reads them: the same words in the terminal, in the
//! portal's progress view and in e-mails. Pure functions from the library's typed
//! results to text (and to the JSON documents `-o json` prints); where the text goes
//! (stdout, stderr, a web page, a message), spinners and exit codes stay with each
//! front end.

mod app;
pub(crate) mod base;
mod event;
mod fleet;
pub mod json;
pub(crate) mod keycloak;
mod workspace;

pub use app::{app_status, apps_table, plan as app_plan};
pub use base::{MAX_DIAGNOSTICS, changes_only, diagnostics, error, error_chain, table};
pub use event::{changed, event_line, unchanged};
pub use fleet::{fleet_rows, fleet_status, render_report, row_line};
pub use keycloak::{plan as keycloak_plan, status as keycloak_status};
pub use workspace::{hand_over, plan as workspace_plan, workspace_status, workspaces_table};
