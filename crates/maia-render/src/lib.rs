//! maia's render layer: validated specs (and facts the caller gathered) in, typed
//! Kubernetes objects and Helm values out. Pure: no files, no clock, no network, so
//! the same input always renders the same bytes.

pub mod app;
mod block_yaml;
mod error;
pub mod helm_yaml;
pub mod labels;
mod object;
pub mod pod_security;
pub mod workspace;

pub use error::{QuotaShort, RenderError};
pub use object::{CustomObject, Object, to_json_list, to_yaml, to_yaml_stream};
