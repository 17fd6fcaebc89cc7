//! Test helpers: render one component from a fixture spec, and print all it
//! contributes as one reviewable text for golden snapshots.

use std::collections::BTreeSet;

use maia_spec::workspace::WorkspaceSpec;

use super::credentials::CountingSource;
use super::{Component, CredentialStore, Credentials, Ctx, SshPorts, ports};
use crate::error::RenderError;
use crate::object::to_yaml_stream;

pub type RenderFn = fn(&mut Ctx<'_, '_>) -> Result<Component, RenderError>;

/// Ports as a first run allocates them.
pub fn first_ports(spec: &WorkspaceSpec) -> SshPorts {
    ports::allocate(
        &spec.users,
        &SshPorts::default(),
        &BTreeSet::new(),
        spec.cluster.port_range,
    )
    .expect("fixture range fits the fixture users")
}

/// The whole workspace as a first run renders it (no kept credentials).
pub fn first_bundle(spec: &WorkspaceSpec) -> super::Bundle {
    super::render(
        spec,
        &Credentials::default(),
        &mut CountingSource::default(),
        &first_ports(spec),
    )
    .expect("fixture renders")
}

/// Renders `render` for `spec` on a first run (no kept credentials).
pub fn render_one(render: RenderFn, spec: &WorkspaceSpec) -> (Component, Credentials) {
    render_one_with(render, spec, None)
}

/// [`render_one`] with an environment file.
pub fn render_one_with(
    render: RenderFn,
    spec: &WorkspaceSpec,
    env_file: Option<&super::EnvFile>,
) -> (Component, Credentials) {
    let kept = Credentials::default();
    let mut source = CountingSource::default();
    let mut store = CredentialStore::new(&kept, &mut source);
    let ssh_ports = first_ports(spec);
    let mut ctx = Ctx {
        spec,
        credentials: &mut store,
        ssh_ports: &ssh_ports,
        env_file,
    };
    let component = render(&mut ctx).expect("fixture renders");
    (component, store.into_credentials())
}

/// Everything a component contributes, as a reviewer reads it.
pub fn describe(c: &Component) -> String {
    let mut out = format!("# component {}\n", c.name);
    if !c.depends_on.is_empty() {
        out.push_str(&format!("# depends on: {}\n", c.depends_on.join(", ")));
    }
    for o in &c.outputs {
        out.push_str(&format!("# output {}: {}\n", o.label, o.value));
    }
    for k in &c.kustomizations {
        out.push_str(&format!("# kubectl apply -k {}\n", k.url));
        if let Some(w) = &k.wait {
            out.push_str(&format!("# kubectl wait {w}\n"));
        }
    }
    for h in &c.helm {
        out.push_str(&format!(
            "# helm release {} in {}: {}/{} {} from {}\n",
            h.release, h.namespace, h.repo_name, h.chart, h.version, h.repo_url,
        ));
        out.push_str(&crate::helm_yaml::to_string(&h.values));
    }
    if !c.objects.is_empty() {
        out.push_str("# objects\n");
        out.push_str(&to_yaml_stream(&c.objects).expect("objects serialise"));
    }
    out
}

/// The fixture variants every component is snapshotted for.
pub fn variants() -> Vec<(&'static str, WorkspaceSpec)> {
    let mut custom_hub = WorkspaceSpec::test();
    custom_hub.cluster.hub_image = Some(("registry.example.org/maia/hub".into(), "1.2".into()));
    vec![
        ("nginx_subdomain_nodeport", WorkspaceSpec::test()),
        (
            "traefik_subpath_loadbalancer",
            WorkspaceSpec::test().with_traefik_subpath_loadbalancer(),
        ),
        ("gpu", WorkspaceSpec::test().with_gpu(1)),
        ("minimal", WorkspaceSpec::test().minimal()),
        ("custom_hub_image", custom_hub),
    ]
}

/// Snapshots `render` for every variant in which its output differs from the NGINX
/// baseline (an unchanged variant would only repeat the baseline).
#[macro_export]
macro_rules! snapshot_variants {
    ($render:expr) => {
        let mut seen: Vec<String> = Vec::new();
        for (name, spec) in $crate::workspace::testing::variants() {
            let (c, _) = $crate::workspace::testing::render_one($render, &spec);
            let text = $crate::workspace::testing::describe(&c);
            if seen.contains(&text) {
                continue;
            }
            seen.push(text.clone());
            insta::assert_snapshot!(name, text);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::credentials::keys;
    use crate::workspace::render;

    fn bundle(spec: &WorkspaceSpec, kept: &Credentials) -> (super::super::Bundle, usize) {
        let mut source = CountingSource::default();
        let b = render(spec, kept, &mut source, &first_ports(spec)).expect("fixture renders");
        (b, source.drawn)
    }

    /// Secrets sit in Secrets only, never in Helm values or the other objects, which
    /// land in world-readable files and in the cluster for anyone who can `get` them.
    #[test]
    fn no_secret_appears_in_an_object_other_than_a_secret() {
        for (name, spec) in variants() {
            let (b, _) = bundle(&spec, &Credentials::default());
            let mut secrets: Vec<String> = b.credentials.0.values().cloned().collect();
            let keycloak = spec.cluster.keycloak.as_ref().expect("fixture");
            secrets.push(keycloak.client_secret.clone());
            secrets.push(
                spec.cluster
                    .registry
                    .as_ref()
                    .expect("fixture")
                    .password
                    .clone(),
            );
            if !spec.minimal {
                for key in [
                    keys::LABEL_STUDIO_PASSWORD,
                    keys::MINIO_ACCESS_KEY,
                    keys::MINIO_SECRET_KEY,
                ] {
                    assert!(b.credentials.0.contains_key(key), "{name}: {key} drawn");
                }
            }
            let mut secret_objects = 0;
            for o in b.objects() {
                if o.kind() == "Secret" {
                    secret_objects += 1;
                    continue;
                }
                let text = serde_json::to_string(o).expect("serialises");
                for s in &secrets {
                    assert!(
                        !text.contains(s.as_str()),
                        "{name}: {} holds a secret",
                        o.reference()
                    );
                }
            }
            assert!(secret_objects > 0, "{name}: the pull secret is a Secret");
            // No values file holds a secret: they can be committed (GitOps).
            for h in b.components.iter().flat_map(|c| &c.helm) {
                let text = h.values.to_string();
                let holding: Vec<&String> = secrets
                    .iter()
                    .filter(|s| text.contains(s.as_str()))
                    .collect();
                assert!(
                    holding.is_empty(),
                    "{name}: {} values hold a secret",
                    h.release
                );
            }
        }
    }

    #[test]
    fn a_second_run_with_the_kept_credentials_renders_the_same_and_draws_nothing() {
        for (name, spec) in variants() {
            let (first, drawn) = bundle(&spec, &Credentials::default());
            assert!(drawn > 0 || spec.minimal, "{name}");
            let (second, drawn_again) = bundle(&spec, &first.credentials);
            assert_eq!(drawn_again, 0, "{name}");
            assert_eq!(first, second, "{name}");
        }
    }

    #[test]
    fn applications_come_in_apply_order_and_minimal_keeps_hub_and_ssh() {
        let names = |spec: &WorkspaceSpec| -> Vec<&'static str> {
            bundle(spec, &Credentials::default())
                .0
                .components
                .iter()
                .map(|c| c.name)
                .collect()
        };
        let full = names(&WorkspaceSpec::test());
        // Other components sit between these; the applications keep this order.
        let apps = [
            "namespace",
            "orthanc_ohif",
            "label_studio",
            "kubeflow",
            "addons",
            "jupyterhub",
            "filebrowser",
        ];
        let positions: Vec<usize> = apps
            .iter()
            .map(|a| {
                full.iter()
                    .position(|n| n == a)
                    .unwrap_or_else(|| panic!("{a} rendered"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{full:?}");
        assert_eq!(
            names(&WorkspaceSpec::test().minimal()),
            ["namespace", "tenancy", "addons", "jupyterhub"]
        );
    }
}
