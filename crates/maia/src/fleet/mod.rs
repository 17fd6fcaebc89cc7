//! Many groups at once: every form of a folder rendered into one config folder, or
//! planned, deployed and read against one cluster.

mod cluster;
mod render;
mod stamps;

pub use crate::gitops::APPLICATION_SET_FILE;
pub use cluster::{
    Counts, Ended, FleetInput, FleetSink, Found, PlanCounts, Row, StatusInput, deploy, plan, status,
};
pub use render::{Done, Entry, Fleet, RenderInput, Status, list_forms, render};
pub use stamps::RenderCache;
