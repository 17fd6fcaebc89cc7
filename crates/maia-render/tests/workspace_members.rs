//! Members are named after the e-mail they log in with (issue 16): every valid address
//! renders, maia's Services select the label the hub puts on the member's pod, and the
//! hub is told the names it could not derive itself.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use maia_render::Object;
use maia_render::workspace::credentials::CountingSource;
use maia_render::workspace::{Bundle, Credentials, ports, render};
use maia_spec::names::Dns1035Label;
use maia_spec::workspace::{WorkspaceSpec, jupyterhub_user, member_name};

fn real_e_mails() -> Vec<String> {
    vec![
        "anna-karin.lindqvist-johansson@sll.karolinska.se".into(),
        "alice+maia@example.org".into(),
        format!("{}@example.org", "l".repeat(64)),
        "1alice@example.org".into(),
        format!("{}.one@example.org", "x".repeat(70)),
        format!("{}.two@example.org", "x".repeat(70)),
        "bob.smith@example.org".into(),
    ]
}

fn bundle(spec: &WorkspaceSpec) -> Bundle {
    let ports = ports::allocate(
        &spec.users,
        &Default::default(),
        &BTreeSet::new(),
        spec.cluster.port_range,
    )
    .unwrap();
    render(
        spec,
        &Credentials::default(),
        &mut CountingSource::default(),
        &ports,
    )
    .unwrap()
}

fn service<'a>(b: &'a Bundle, name: &str) -> &'a k8s_openapi::api::core::v1::Service {
    b.components
        .iter()
        .flat_map(|c| &c.objects)
        .find_map(|o| match o {
            Object::Service(s) if o.name() == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Service {name}"))
}

fn hub_values(b: &Bundle) -> &serde_json::Value {
    &b.components
        .iter()
        .flat_map(|c| &c.helm)
        .find(|h| h.chart == "jupyterhub")
        .unwrap()
        .values
}

#[test]
fn every_valid_e_mail_gets_services_that_select_the_hubs_pod() {
    let mut spec = WorkspaceSpec::test();
    spec.users = real_e_mails();
    let b = bundle(&spec);
    let names: BTreeSet<String> = spec.users.iter().map(|u| member_name(u)).collect();
    assert_eq!(names.len(), spec.users.len());
    let told = &hub_values(&b)["custom"]["maiaMemberNames"];
    for user in &spec.users {
        let name = member_name(user);
        for svc in [format!("{name}-ssh"), format!("jupyter-{name}")] {
            svc.parse::<Dns1035Label>().unwrap();
            let s = service(&b, &svc);
            let selector = s.spec.as_ref().unwrap().selector.as_ref().unwrap();
            assert_eq!(selector["hub.jupyter.org/username"], name, "{user}");
        }
        // The hub labels the pod with its own escaping unless told otherwise.
        if name == jupyterhub_user(user) {
            assert!(told.get(user).is_none(), "{user}");
        } else {
            assert_eq!(told[user], name, "{user}");
        }
    }
    // `+` is escaped as KubeSpawner does (`-2b`), not kept.
    service(&b, "alice-2bmaia-40example-2eorg-ssh");
    // The hub runs the hook that applies those names.
    let hook = hub_values(&b)["hub"]["extraConfig"]["maia-member-names"]
        .as_str()
        .unwrap();
    assert!(hook.contains("custom.maiaMemberNames"), "{hook}");
}

/// The example group's members keep their names, and its hub gets no hook.
#[test]
fn members_with_valid_escaped_names_keep_them_and_the_hub_is_untouched() {
    let b = bundle(&WorkspaceSpec::test());
    service(&b, "alice-40example-2eorg-ssh");
    service(&b, "jupyter-bob-2esmith-40example-2eorg");
    assert!(hub_values(&b).get("custom").is_none());
    assert!(hub_values(&b)["hub"].get("extraConfig").is_none());
}

/// Every member's pod gets every member's `SSH_PORT_<e-mail>`: a name Kubernetes
/// before 1.32 refuses (`+`) would stop all of them, so it is left out.
#[test]
fn only_portable_ssh_port_variables_reach_the_workspaces() {
    let mut spec = WorkspaceSpec::test();
    spec.users = real_e_mails();
    let b = bundle(&spec);
    let env = &hub_values(&b)["singleuser"]["extraEnv"];
    assert!(env.get("SSH_PORT_alice+maia__at__example.org").is_none());
    assert!(env.get("SSH_PORT_bob.smith__at__example.org").is_some());
    assert!(
        env.get("SSH_PORT_anna-karin.lindqvist-johansson__at__sll.karolinska.se")
            .is_some()
    );
}
