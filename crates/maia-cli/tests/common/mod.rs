//! The golden workspace scenarios, rendered as `maia namespace render` renders them,
//! shared by the golden bundles (`bundle_golden.rs`) and the schema checks
//! (`schemas.rs`).

use maia::workspace as namespace;
use maia_render::workspace::credentials::CountingSource;
use maia_spec::LoadOptions;
use maia_spec::workspace::load::{WorkspaceTexts, load_str};

pub const GROUP: &str = include_str!("../../../../examples/workspace/group.yaml");
pub const NGINX: &str = include_str!("../../../../examples/workspace/cluster-nginx.yaml");
pub const TRAEFIK: &str = include_str!("../../../../examples/workspace/cluster-traefik.yaml");
pub const MAIA: &str = include_str!("../../../../examples/workspace/maia.yaml");

/// The shipped group form with its GPU line switched on.
pub fn gpu_group() -> String {
    let gpu = GROUP.replace("# gpu_request: 1 ", "gpu_request: 1 #");
    assert_ne!(
        gpu, GROUP,
        "the example group form has a `# gpu_request: 1` line"
    );
    gpu
}

/// Renders a workspace from the given texts into an empty config folder (no
/// credentials.yaml), every secret drawn from a counter so the output is stable.
pub fn render(
    group: &str,
    cluster: &str,
    maia: Option<&str>,
    minimal: bool,
) -> namespace::Rendered {
    let spec = load_str(
        WorkspaceTexts {
            group: ("group.yaml", group),
            cluster: ("cluster.yaml", cluster),
            maia: maia.map(|m| ("maia.yaml", m)),
        },
        minimal,
        LoadOptions::default(),
    )
    .unwrap()
    .spec;
    let tmp = tempfile::tempdir().unwrap();
    let folder = namespace::ConfigFolder::lock(tmp.path()).unwrap();
    namespace::render_spec(spec, &folder, &mut CountingSource::default(), &[], None).unwrap()
}
