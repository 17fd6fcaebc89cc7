//! The portal's objects: what a cluster admin applies must run it with no more rights
//! than the engine uses, and no fewer than the workspaces it deploys grant.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::rbac::v1::PolicyRule;
use maia_portal::manifests::{NAME, rules};
use maia_portal::{ManifestOptions, manifests};
use maia_spec::LoadOptions;
use maia_spec::workspace::cluster::Install;
use maia_spec::workspace::load::check_cluster_text;

const NGINX: &str = include_str!("../../../examples/workspace/cluster-nginx.yaml");
const TRAEFIK: &str = include_str!("../../../examples/workspace/cluster-traefik.yaml");

fn grants(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        let has =
            |list: Option<&Vec<String>>, v: &str| list.is_some_and(|l| l.iter().any(|x| x == v));
        has(r.api_groups.as_ref(), group)
            && has(r.resources.as_ref(), resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

#[test]
fn the_cluster_role_holds_every_right_the_members_role_grants() {
    let ours = rules();
    for rule in maia_render::workspace::tenancy::member_rules() {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    assert!(
                        grants(&ours, group, resource, verb),
                        "the members' Role grants {verb} {group}/{resource}, which maia could not grant"
                    );
                }
            }
        }
    }
}

#[test]
fn the_cluster_role_has_no_wildcard_nor_escalating_verb() {
    for rule in rules() {
        for word in rule
            .verbs
            .iter()
            .chain(rule.resources.iter().flatten())
            .chain(rule.api_groups.iter().flatten())
        {
            assert_ne!(word, "*", "{rule:?}");
            assert!(
                !["escalate", "bind", "impersonate", "deletecollection"].contains(&word.as_str()),
                "{rule:?}"
            );
        }
        for resource in rule.resources.iter().flatten() {
            assert!(
                ![
                    "clusterroles",
                    "clusterrolebindings",
                    "nodes",
                    "customresourcedefinitions"
                ]
                .contains(&resource.as_str()),
                "{rule:?}"
            );
        }
    }
}

fn rendered(cluster: &str) -> maia_portal::Manifests {
    let text = format!(
        "{cluster}\nportal:\n  url: https://Portal.example.org\n  client_id: maia-portal\n"
    );
    let (spec, _) = check_cluster_text(
        ("cluster.yaml", &text),
        Install::Full,
        None,
        LoadOptions::default(),
    )
    .unwrap();
    let portal = spec.portal.clone().unwrap();
    manifests(
        &spec,
        &portal,
        &ManifestOptions {
            namespace: "maia-system".into(),
            image: "registry.example.org/maia:1".into(),
        },
    )
}

#[test]
fn the_ingress_serves_the_portal_host_with_tls_as_the_cluster_does() {
    let m = rendered(NGINX);
    let spec = m.ingress.spec.as_ref().unwrap();
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    let rule = &spec.rules.as_ref().unwrap()[0];
    assert_eq!(rule.host.as_deref(), Some("portal.example.org"));
    let tls = &spec.tls.as_ref().unwrap()[0];
    assert_eq!(
        tls.hosts.as_deref(),
        Some(&["portal.example.org".to_string()][..])
    );
    let annotations = m.ingress.metadata.annotations.as_ref().unwrap();
    assert!(
        annotations.contains_key("cert-manager.io/cluster-issuer"),
        "{annotations:?}"
    );

    let m = rendered(TRAEFIK);
    let annotations = m.ingress.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        annotations["traefik.ingress.kubernetes.io/router.tls"],
        "true"
    );
    assert_eq!(
        m.ingress.spec.unwrap().ingress_class_name.as_deref(),
        Some("traefik")
    );
}

#[test]
fn the_deployment_runs_serve_as_the_service_account_without_secrets_in_argv() {
    let m = rendered(NGINX);
    let pod = m.deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(NAME));
    let c = &pod.containers[0];
    assert_eq!(c.image.as_deref(), Some("registry.example.org/maia:1"));
    let args = c.args.clone().unwrap();
    assert_eq!(args[0], "serve");
    assert!(args.iter().all(|a| !a.contains("secret")), "{args:?}");
    let env = c.env.as_ref().unwrap();
    assert_eq!(env[0].name, "MAIA_PORTAL_CLIENT_SECRET");
    assert!(env[0].value.is_none(), "the secret comes from a Secret");
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    // The binding grants the role to this ServiceAccount only.
    let subjects = m.cluster_role_binding.subjects.unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (subjects[0].name.as_str(), subjects[0].namespace.as_deref()),
        (NAME, Some("maia-system"))
    );
    assert_eq!(m.cluster_role_binding.role_ref.name, NAME);
}

#[test]
fn the_yaml_stream_has_the_six_objects_in_apply_order() {
    let yaml = rendered(NGINX).to_yaml().unwrap();
    assert_eq!(yaml.matches("\n---\n").count(), 5, "{yaml}");
    let kinds: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Service",
            "Ingress"
        ]
    );
}
