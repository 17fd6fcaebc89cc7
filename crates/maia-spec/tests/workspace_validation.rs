//! One test per class of bad workspace input: each asserts the file, the field path,
//! the line and what the message and hint tell the admin.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_spec::workspace::load::{WorkspaceTexts, load_str};
use maia_spec::workspace::{IngressController, SshExposure, UrlType};
use maia_spec::{Diagnostic, LoadOptions, Severity, SpecError};

const GROUP: &str = include_str!("../../../examples/workspace/group.yaml");
const NGINX: &str = include_str!("../../../examples/workspace/cluster-nginx.yaml");
const TRAEFIK: &str = include_str!("../../../examples/workspace/cluster-traefik.yaml");
const MAIA: &str = include_str!("../../../examples/workspace/maia.yaml");

fn load(
    group: &str,
    cluster: &str,
    maia: Option<&str>,
    minimal: bool,
) -> Result<maia_spec::workspace::LoadedWorkspace, SpecError> {
    load_str(
        WorkspaceTexts {
            group: ("group.yaml", group),
            cluster: ("cluster.yaml", cluster),
            maia: maia.map(|m| ("maia.yaml", m)),
        },
        minimal,
        LoadOptions::default(),
    )
}

/// The only error of a bad workspace.
fn the_error(group: &str, cluster: &str, maia: Option<&str>, minimal: bool) -> Diagnostic {
    let err = load(group, cluster, maia, minimal).expect_err("the input is invalid");
    let errors: Vec<_> = err
        .diagnostics()
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got {errors:#?}"
    );
    errors.into_iter().next().unwrap()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

#[test]
fn the_examples_are_valid_and_combine_into_a_spec() {
    let w = load(GROUP, NGINX, Some(MAIA), false).unwrap();
    assert!(w.warnings.is_empty(), "{:#?}", w.warnings);
    let s = w.spec;
    assert_eq!(s.namespace.as_str(), "brain-mri");
    assert_eq!(s.keycloak_group(), "MAIA:Brain_MRI");
    assert_eq!(s.workspace_version, "2.0");
    assert_eq!(s.cluster.port_range, (30100, 30199));
    assert_eq!(s.cluster.ssh, SshExposure::NodePort);
    assert!(matches!(s.cluster.ingress, IngressController::Nginx { .. }));
    assert_eq!(s.cluster.keycloak.unwrap().client_id, "maia");
    assert_eq!(s.resources.cpu_limit, 4.0);

    let t = load(GROUP, TRAEFIK, None, false).unwrap().spec;
    assert_eq!(t.cluster.url_type, UrlType::Subpath);
    assert!(
        matches!(t.cluster.ssh, SshExposure::LoadBalancer { ref ip, .. } if ip == "192.0.2.10")
    );
    // The shared and hub storage classes fall back to storage_class.
    assert_eq!(t.cluster.shared_storage_class.as_deref(), Some("longhorn"));
    assert_eq!(t.cluster.hub_storage_class.as_deref(), Some("longhorn"));
}

#[test]
fn keycloak_and_keycloack_are_both_accepted_and_not_both_at_once() {
    let both = NGINX.replace("keycloack:", "keycloak:");
    assert!(load(GROUP, &both, None, false).is_ok());
    let twice = format!("{NGINX}keycloak:\n  client_id: x\n");
    let d = the_error(GROUP, &twice, None, false);
    assert_eq!(d.path.to_string(), "keycloak");
    assert!(d.message.contains("both keycloack and keycloak"), "{d}");
}

#[test]
fn namespace_hub_address_is_the_seeds_name_for_group_subdomain() {
    let form = GROUP.replace(
        "group_subdomain: brain-mri",
        "namespace_hub_address: brains",
    );
    let s = load(&form, NGINX, None, false).unwrap().spec;
    assert_eq!(s.subdomain.as_str(), "brains");
    assert_eq!(s.hub_host(), "brains.maia.example.org");
}

#[test]
fn url_type_path_is_accepted_as_the_readme_spells_it() {
    let c = NGINX.replace("url_type: subdomain", "url_type: path");
    let s = load(GROUP, &c, None, false).unwrap().spec;
    assert_eq!(s.cluster.url_type, UrlType::Subpath);
}

#[test]
fn an_unknown_url_type_is_refused_with_a_suggestion() {
    let c = NGINX.replace("url_type: subdomain", "url_type: subdomian");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.file.to_str(), Some("cluster.yaml"));
    assert_eq!(d.path.to_string(), "url_type");
    assert_eq!(d.location, Some((line_of(&c, "url_type:"), 11)));
    assert_eq!(d.hint.as_deref(), Some("did you mean \"subdomain\"?"));
}

#[test]
fn a_port_range_with_min_above_max_is_refused() {
    let c = NGINX.replace("[30100, 30199]", "[30199, 30100]");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "port_range[0]");
    assert_eq!(d.location, Some((line_of(&c, "port_range"), 14)));
    assert!(d.message.contains("30199, above its end 30100"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("write [30100, 30199]"));
}

#[test]
fn a_port_range_too_small_for_the_users_is_refused() {
    let c = NGINX.replace("[30100, 30199]", "[30100, 30100]");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.file.to_str(), Some("cluster.yaml"));
    assert_eq!(d.path.to_string(), "port_range");
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&c, "port_range")));
    assert!(
        d.message
            .contains("1 ports, too few for the group's 2 users"),
        "{d}"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("widen it to at least [30100, 30101]")
    );
}

#[test]
fn a_user_that_is_not_an_email_is_refused() {
    let g = GROUP.replace("bob.smith@example.org", "bob smith");
    let d = the_error(&g, NGINX, None, false);
    assert_eq!(d.file.to_str(), Some("group.yaml"));
    assert_eq!(d.path.to_string(), "users[1]");
    assert_eq!(d.location, Some((line_of(&g, "bob smith"), 5)));
    assert_eq!(d.message, "\"bob smith\" is not an e-mail address");
}

#[test]
fn a_user_listed_twice_is_refused() {
    let g = GROUP.replace("bob.smith@example.org", "Alice@example.org");
    let d = the_error(&g, NGINX, None, false);
    assert_eq!(d.path.to_string(), "users[1]");
    assert!(d.message.contains("listed twice"), "{d}");
}

#[test]
fn an_ssh_port_type_other_than_nodeport_or_loadbalancer_is_refused() {
    let c = NGINX.replace("ssh_port_type: NodePort", "ssh_port_type: Nodeport");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "ssh_port_type");
    assert_eq!(d.location, Some((line_of(&c, "ssh_port_type"), 16)));
    assert_eq!(d.message, "\"Nodeport\" is not an SSH port type");
    assert_eq!(d.hint.as_deref(), Some("did you mean \"NodePort\"?"));
}

#[test]
fn loadbalancer_without_a_metallb_ip_is_refused() {
    let c = TRAEFIK.replace("maia_metallb_ip: 192.0.2.10\n", "");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "ssh_port_type");
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&c, "ssh_port_type")));
    assert!(d.message.contains("needs maia_metallb_ip"), "{d}");
}

#[test]
fn a_missing_keycloak_setting_names_the_components_that_need_it() {
    let c = NGINX.replace("  issuer_url: https://iam.example.org/realms/maia\n", "");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "keycloack.issuer_url");
    // Located at the block it belongs in.
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&c, "keycloack:")));
    assert_eq!(
        d.message,
        "issuer_url is missing: the OAuth2 proxy and MinIO need it"
    );
    assert!(d.hint.as_deref().unwrap().contains("--minimal"), "{d}");
    // --minimal installs only JupyterHub, which does not need the issuer.
    assert!(load(GROUP, &c, None, true).is_ok());

    let c = NGINX.replace(
        "  token_url: https://iam.example.org/realms/maia/protocol/openid-connect/token\n",
        "",
    );
    let d = the_error(GROUP, &c, None, true);
    assert_eq!(d.path.to_string(), "keycloack.token_url");
    assert_eq!(d.message, "token_url is missing: JupyterHub needs it");
}

#[test]
fn missing_keycloak_settings_altogether_are_refused() {
    let cut = NGINX.find("keycloack:").unwrap();
    let c = &NGINX[..cut];
    let d = the_error(GROUP, c, None, false);
    assert_eq!(d.path.to_string(), "keycloak");
    assert!(
        d.message.contains("JupyterHub, the OAuth2 proxy and MinIO"),
        "{d}"
    );
    let d = the_error(GROUP, c, None, true);
    assert!(d.message.contains("missing: JupyterHub log"), "{d}");
}

#[test]
fn unknown_fields_get_a_did_you_mean() {
    let c = NGINX.replace("ssh_hostname:", "ssh_host_name:");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "ssh_host_name");
    assert_eq!(d.location, Some((line_of(&c, "ssh_host_name"), 1)));
    assert!(
        d.hint
            .as_deref()
            .unwrap()
            .starts_with("did you mean \"ssh_hostname\"?"),
        "{d}"
    );

    let g = GROUP.replace("  cpu:", "  cpus:");
    let err = load(&g, NGINX, None, false).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(d.file.to_str(), Some("group.yaml"));
    assert!(d.path.to_string().starts_with("resources_limits"), "{d}");
}

#[test]
fn a_group_id_that_cannot_name_a_namespace_is_refused() {
    let g = GROUP.replace("group_ID: Brain_MRI", "group_ID: Brain MRI!");
    let d = the_error(&g, NGINX, None, false);
    assert_eq!(d.path.to_string(), "group_ID");
    assert_eq!(d.location, Some((line_of(&g, "group_ID"), 11)));
    assert!(d.message.contains("does not give a valid namespace"), "{d}");
}

#[test]
fn resources_limits_need_two_valid_values_each() {
    let g = GROUP.replace("\"8G\"", "\"8GB\"");
    let d = the_error(&g, NGINX, None, false);
    assert_eq!(d.path.to_string(), "resources_limits.memory[1]");
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&g, "8GB")));

    let g = GROUP.replace("    - 2.0\n", "");
    let d = the_error(&g, NGINX, None, false);
    assert_eq!(d.path.to_string(), "resources_limits.cpu");
    assert!(
        d.message.contains("expected [guarantee, limit], found 1"),
        "{d}"
    );
}

#[test]
fn nginx_and_traefik_settings_together_are_refused() {
    let c = format!("{NGINX}traefik_resolver: letsencrypt\n");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "traefik_resolver");
    assert!(
        d.message
            .contains("both nginx_cluster_issuer and traefik_resolver")
    );
}

#[test]
fn a_partial_registry_is_refused() {
    let c = NGINX.replace("docker_username: maia\n", "");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "docker_username");
}

#[test]
fn the_maia_config_overrides_only_what_it_gives() {
    let m = "nginx_proxy_image: example.org/proxy:2.1\nmaia_workspace_version: 2.10\n";
    let s = load(
        &GROUP.replace("maia_workspace_version: \"2.0\"", ""),
        NGINX,
        Some(m),
        false,
    )
    .unwrap()
    .spec;
    assert_eq!(s.maia.nginx_proxy_image, "example.org/proxy:2.1");
    assert_eq!(s.maia.mysql_image, "mysql:8.0.28");
    // The form does not choose a version, so the MAIA config's applies.
    assert_eq!(s.workspace_version, "2.1");

    let d = the_error(GROUP, NGINX, Some("mysql_image: mysql\n"), false);
    assert_eq!(d.file.to_str(), Some("maia.yaml"));
    assert_eq!(d.path.to_string(), "mysql_image");
    assert_eq!(d.location, Some((1, 14)));
    assert!(d.message.contains("has no tag"), "{d}");
}

#[test]
fn a_bare_version_number_keeps_its_decimal() {
    let g = GROUP.replace(
        "maia_workspace_version: \"2.0\"",
        "maia_workspace_version: 2.0",
    );
    assert_eq!(
        load(&g, NGINX, None, false).unwrap().spec.workspace_version,
        "2.0"
    );
}

#[test]
fn secrets_are_never_echoed_in_diagnostics() {
    // A registry password of the wrong type: the error must not repeat it.
    let c = NGINX.replace(
        "docker_password: change-me-registry-password",
        "docker_password: [change-me-registry-password]",
    );
    let err = load(GROUP, &c, None, false).unwrap_err();
    let text: String = err.diagnostics().iter().map(|d| d.to_string()).collect();
    assert!(text.contains("docker_password"), "{text}");
    assert!(!text.contains("change-me-registry-password"), "{text}");
}

#[test]
fn empty_optional_settings_of_the_original_template_mean_unset() {
    // The seed's template leaves the other controller's setting as "".
    let c = format!("{NGINX}traefik_resolver: \"\"\nhub_storage_class: \"\"\n");
    let c = c.replace("hub_storage_class: local-path\n", "");
    let s = load(GROUP, &c, None, false).unwrap().spec;
    assert!(matches!(s.cluster.ingress, IngressController::Nginx { .. }));
    assert_eq!(s.cluster.hub_storage_class.as_deref(), Some("local-path"));

    let c = NGINX.replace("  client_id: maia", "  client_id: \"\"");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.path.to_string(), "keycloack.client_id");
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&c, "client_id")));
    assert_eq!(
        d.message,
        "client_id is empty: JupyterHub, the OAuth2 proxy and MinIO need it"
    );
}

/// The e-mails of issue 16: real addresses, the login itself. Each must be accepted,
/// whatever Kubernetes' name limits, since the member cannot pick another.
fn real_e_mails() -> Vec<String> {
    vec![
        // 48 characters: escaped as KubeSpawner does it is 60, too long for
        // `jupyter-<name>` and `volume-<name>`.
        "anna-karin.lindqvist-johansson@sll.karolinska.se".into(),
        "alice+maia@example.org".into(),
        // The longest local part an address may have.
        format!("{}@example.org", "l".repeat(64)),
        "1alice@example.org".into(),
        "a_b@example.org".into(),
        // Equal in their first 70 characters: a plain truncation would give one name.
        format!("{}.one@example.org", "x".repeat(70)),
        format!("{}.two@example.org", "x".repeat(70)),
    ]
}

fn with_users(users: &[String]) -> String {
    let list: String = users.iter().map(|u| format!("  - {u}\n")).collect();
    GROUP.replace("  - alice@example.org\n  - bob.smith@example.org\n", &list)
}

#[test]
fn every_valid_e_mail_is_a_member_with_valid_distinct_names() {
    let users = real_e_mails();
    let w = load(&with_users(&users), NGINX, None, false).unwrap();
    assert!(w.warnings.is_empty(), "{:#?}", w.warnings);
    assert_eq!(w.spec.users, users);
    let names: std::collections::BTreeSet<String> = users
        .iter()
        .map(|u| maia_spec::workspace::member_name(u))
        .collect();
    assert_eq!(names.len(), users.len(), "{names:#?}");
    for name in &names {
        for service in [format!("{name}-ssh"), format!("jupyter-{name}")] {
            service
                .parse::<maia_spec::names::Dns1035Label>()
                .unwrap_or_else(|e| panic!("{service}: {e:?}"));
        }
    }
}

/// Keycloak and JupyterHub lower-case user names: the member is the lower-case
/// address, and the admin is told so.
#[test]
fn an_upper_case_user_is_taken_in_lower_case_with_a_warning() {
    let g = GROUP.replace("alice@example.org", "Alice@Example.org");
    let w = load(&g, NGINX, None, false).unwrap();
    assert_eq!(w.spec.users[0], "alice@example.org");
    let [d] = w.warnings.as_slice() else {
        panic!("one warning expected: {:#?}", w.warnings)
    };
    assert_eq!(d.path.to_string(), "users[0]");
    assert_eq!(d.location.map(|l| l.0), Some(line_of(&g, "Alice@")));
    assert!(d.message.contains("\"alice@example.org\""), "{}", d.message);
}

/// `default`, `kube-system`, `kubeflow` and the like belong to the cluster: a group
/// mapping to one is refused.
#[test]
fn a_group_mapping_to_a_reserved_namespace_is_refused() {
    for group_id in [
        "default",
        "Kube_System",
        "kubeflow",
        "maia_system",
        "cert_manager",
    ] {
        let g = GROUP.replace("group_ID: Brain_MRI", &format!("group_ID: {group_id}"));
        let d = the_error(&g, NGINX, None, false);
        assert_eq!(d.path.to_string(), "group_ID", "{group_id}");
        assert!(
            d.message.contains("reserved for the cluster"),
            "{}",
            d.message
        );
    }
}

#[test]
fn tenancy_settings_default_from_the_ingress_type_and_are_read_when_given() {
    let w = load(GROUP, NGINX, None, false).unwrap();
    let t = &w.spec.cluster.tenancy;
    assert_eq!(t.ingress_namespace, "ingress-nginx");
    assert_eq!(t.minio_operator_namespace, "minio-operator");
    assert_eq!(t.egress, maia_spec::workspace::Egress::Open);
    assert!(t.privileged_workspaces);
    assert_eq!(t.oidc_groups_prefix, "oidc:");
    let w = load(GROUP, TRAEFIK, None, false).unwrap();
    assert_eq!(w.spec.cluster.tenancy.ingress_namespace, "traefik");
    let c = format!(
        "{NGINX}\ningress_namespace: kube-system\negress: restricted\negress_allow: [10.0.0.5/32, \"2001:db8::/64\"]\nprivileged_workspaces: false\noidc_groups_prefix: \"\"\n"
    );
    let w = load(GROUP, &c, None, false).unwrap();
    let t = &w.spec.cluster.tenancy;
    assert_eq!(t.ingress_namespace, "kube-system");
    assert!(!t.privileged_workspaces);
    assert_eq!(t.oidc_groups_prefix, "");
    assert_eq!(
        t.egress,
        maia_spec::workspace::Egress::Restricted {
            allow: vec!["10.0.0.5/32".into(), "2001:db8::/64".into()]
        }
    );
}

#[test]
fn bad_tenancy_settings_are_refused_with_their_field() {
    for (extra, path, words) in [
        ("egress: restricted", "egress_allow", "needs egress_allow"),
        ("egress: closed", "egress", "not an egress mode"),
        (
            "egress: restricted\negress_allow: [10.0.0.5]",
            "egress_allow[0]",
            "/prefix is missing",
        ),
        (
            "egress: restricted\negress_allow: [10.0.0.5/24]",
            "egress_allow[0]",
            "host bits",
        ),
        (
            "egress: restricted\negress_allow: [10.0.0.0/33]",
            "egress_allow[0]",
            "prefix length",
        ),
        ("ingress_namespace: Ingress_NGINX", "ingress_namespace", ""),
        (
            "privileged_workspaces: sometimes",
            "privileged_workspaces",
            "not a boolean",
        ),
    ] {
        let c = format!("{NGINX}\n{extra}\n");
        let d = the_error(GROUP, &c, None, false);
        assert_eq!(d.path.to_string(), path, "{extra}: {d}");
        assert!(d.message.contains(words), "{extra}: {d}");
    }
}

#[test]
fn a_quota_in_the_form_is_checked_field_by_field() {
    let g = format!("{GROUP}\nquota:\n  cpu: 32\n  memory: 256Gi\n  gpu: 4\n  pvcs: 40\n");
    let w = load(&g, NGINX, None, false).unwrap();
    let q = &w.spec.quota;
    assert_eq!(q.cpu.as_ref().unwrap().as_str(), "32");
    assert_eq!(q.memory.as_ref().unwrap().as_str(), "256Gi");
    assert_eq!(
        (q.gpu, q.pvcs, q.storage.clone()),
        (Some(4), Some(40), None)
    );
    for (quota, path, words) in [
        ("  cpu: -4", "quota.cpu", "negative"),
        (
            "  memory: 256GB",
            "quota.memory",
            "not a Kubernetes quantity",
        ),
        ("  cpu: 0", "quota.cpu", "is 0"),
        ("  gpu: 1.5", "quota.gpu", "not a whole number"),
        ("  pvc: 3", "quota.pvc", "unknown"),
    ] {
        let g = format!("{GROUP}\nquota:\n{quota}\n");
        let err = load(&g, NGINX, None, false).expect_err(quota);
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.severity == Severity::Error)
            .unwrap()
            .clone();
        assert_eq!(d.path.to_string(), path, "{quota}: {d}");
        assert!(d.message.contains(words), "{quota}: {d}");
        assert_eq!(d.file.to_str(), Some("group.yaml"));
    }
}

/// z2jh 4 runs KubeSpawner 7, which names pods and labels them (`hub.jupyter.org/username`)
/// its own new way: maia's member Services would select no pod. Refused, naming the
/// file and field; a version maia does not know is taken with a warning.
#[test]
fn a_jupyterhub_chart_whose_names_maia_does_not_match_is_refused() {
    for version in ["4.0.0", "4.1.0", "5.0.0", "4.0.0-0.dev.git.6700.h5a6b7c8d"] {
        let m = format!("jupyterhub_chart_version: {version}\n");
        let d = the_error(GROUP, NGINX, Some(&m), false);
        assert_eq!(d.file.to_str(), Some("maia.yaml"), "{version}");
        assert_eq!(d.path.to_string(), "jupyterhub_chart_version");
        assert_eq!(d.location, Some((1, 27)), "{version}");
        assert!(d.message.contains("KubeSpawner 7"), "{d}");
        assert!(d.hint.as_deref().is_some_and(|h| h.contains("3.x")), "{d}");
    }
    for version in ["3.0.0", "3.1.0", "3.3.8"] {
        let m = format!("jupyterhub_chart_version: {version}\n");
        let w = load(GROUP, NGINX, Some(&m), false).unwrap();
        assert!(w.warnings.is_empty(), "{version}: {:#?}", w.warnings);
        assert_eq!(w.spec.maia.jupyterhub_chart_version, version);
    }
    for version in ["2.0.0", "latest"] {
        let m = format!("jupyterhub_chart_version: {version}\n");
        let w = load(GROUP, NGINX, Some(&m), false).unwrap();
        let [d] = w.warnings.as_slice() else {
            panic!("{version}: one warning expected: {:#?}", w.warnings)
        };
        assert_eq!(d.path.to_string(), "jupyterhub_chart_version");
        assert!(d.message.contains("3.x"), "{d}");
    }
}

/// The hub image carries KubeSpawner: z2jh's own hub image of 4.x or later with a
/// 3.x chart names pods as KubeSpawner 7 does.
#[test]
fn a_hub_image_of_z2jh_4_is_refused() {
    let c = format!("{NGINX}\nhub_image: quay.io/jupyterhub/k8s-hub\nhub_tag: 4.0.0\n");
    let d = the_error(GROUP, &c, None, false);
    assert_eq!(d.file.to_str(), Some("cluster.yaml"));
    assert_eq!(d.path.to_string(), "hub_tag");
    assert!(d.message.contains("KubeSpawner 7"), "{d}");
    let c = format!("{NGINX}\nhub_image: quay.io/jupyterhub/k8s-hub\nhub_tag: 3.1.0\n");
    assert!(load(GROUP, &c, None, false).is_ok());
}

#[test]
fn keycloak_admin_is_read_with_its_defaults_and_absent_by_default() {
    let w = load(GROUP, NGINX, None, false).unwrap();
    assert_eq!(w.spec.cluster.keycloak_admin, None);
    let c = format!(
        "{NGINX}\nkeycloak_admin:\n  url: https://iam.example.org/\n  realm: maia\n  client_id: maia-admin\n  client_secret_file: /etc/maia/keycloak-admin.secret\n"
    );
    let w = load(GROUP, &c, None, false).unwrap();
    assert!(w.warnings.is_empty(), "{:#?}", w.warnings);
    let k = w.spec.cluster.keycloak_admin.unwrap();
    assert_eq!(k.url, "https://iam.example.org");
    assert_eq!(
        (k.realm.as_str(), k.client_id.as_str()),
        ("maia", "maia-admin")
    );
    assert_eq!(
        k.client_secret_file.as_deref(),
        Some(std::path::Path::new("/etc/maia/keycloak-admin.secret"))
    );
    assert_eq!(k.invite_lifespan, 7 * 86_400);
    assert!(!k.per_workspace_clients);
    let c = format!(
        "{NGINX}\nkeycloak_admin:\n  url: https://iam.example.org\n  realm: maia\n  client_id: maia-admin\n  invite_lifespan: 48h\n  per_workspace_clients: true\n"
    );
    let k = load(GROUP, &c, None, false)
        .unwrap()
        .spec
        .cluster
        .keycloak_admin
        .unwrap();
    assert_eq!(
        (k.invite_lifespan, k.per_workspace_clients),
        (48 * 3600, true)
    );
    assert_eq!(
        k.client_secret_file, None,
        "then MAIA_KEYCLOAK_ADMIN_SECRET"
    );
}

#[test]
fn bad_keycloak_admin_settings_are_refused_with_their_field() {
    let base =
        "keycloak_admin:\n  url: https://iam.example.org\n  realm: maia\n  client_id: maia-admin\n";
    for (extra, path, words) in [
        (
            "keycloak_admin:\n  realm: maia\n  client_id: maia-admin\n",
            "keycloak_admin.url",
            "url is missing",
        ),
        (
            "keycloak_admin:\n  url: https://iam.example.org\n  client_id: maia-admin\n",
            "keycloak_admin.realm",
            "realm is missing",
        ),
        (
            "keycloak_admin:\n  url: iam.example.org\n  realm: maia\n  client_id: maia-admin\n",
            "keycloak_admin.url",
            "not a URL",
        ),
        (
            "keycloak_admin:\n  url: https://iam.example.org/realms/maia\n  realm: maia\n  client_id: maia-admin\n",
            "keycloak_admin.url",
            "names a realm",
        ),
        (
            &format!("{base}  client_secret: hunter2\n"),
            "keycloak_admin.client_secret",
            "not written in the cluster config",
        ),
        (
            &format!("{base}  invite_lifespan: soon\n"),
            "keycloak_admin.invite_lifespan",
            "not a lifespan",
        ),
        (
            &format!("{base}  per_workspace_clients: maybe\n"),
            "keycloak_admin.per_workspace_clients",
            "not true or false",
        ),
    ] {
        let c = format!("{NGINX}\n{extra}");
        let d = the_error(GROUP, &c, None, false);
        assert_eq!(d.path.to_string(), path, "{extra}: {d}");
        assert!(d.message.contains(words), "{extra}: {d}");
        assert!(!d.to_string().contains("hunter2"), "{d}");
    }
    // Another realm than the one the components log in at: a warning naming both.
    let c = format!("{NGINX}\n{}", base.replace("realm: maia", "realm: other"));
    let w = load(GROUP, &c, None, false).unwrap();
    assert_eq!(w.warnings.len(), 1, "{:#?}", w.warnings);
    assert_eq!(w.warnings[0].path.to_string(), "keycloak_admin.realm");
    assert!(
        w.warnings[0].message.contains("realm other"),
        "{}",
        w.warnings[0]
    );
}

#[test]
fn with_per_workspace_clients_the_shared_client_is_not_needed() {
    let without_shared: String = NGINX
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("client_id:")
                && !l.trim_start().starts_with("client_secret:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let err = load(GROUP, &without_shared, None, false).unwrap_err();
    let paths: Vec<String> = err
        .diagnostics()
        .iter()
        .map(|d| d.path.to_string())
        .collect();
    assert_eq!(paths, ["keycloack.client_id", "keycloack.client_secret"]);
    let c = format!(
        "{without_shared}\nkeycloak_admin:\n  url: https://iam.example.org\n  realm: maia\n  client_id: maia-admin\n  per_workspace_clients: true\n"
    );
    let w = load(GROUP, &c, None, false).unwrap();
    assert!(w.spec.cluster.keycloak_admin.unwrap().per_workspace_clients);
}

#[test]
fn portal_is_read_and_absent_by_default() {
    let w = load(GROUP, NGINX, None, false).unwrap();
    assert_eq!(w.spec.cluster.portal, None);
    let c = format!(
        "{NGINX}\nportal:\n  url: https://Maia.example.org/\n  client_id: maia-portal\n  client_secret_file: /etc/maia/portal.secret\n"
    );
    let w = load(GROUP, &c, None, false).unwrap();
    assert!(w.warnings.is_empty(), "{:#?}", w.warnings);
    let p = w.spec.cluster.portal.unwrap();
    assert_eq!(p.url, "https://Maia.example.org");
    assert_eq!(p.host, "maia.example.org");
    assert_eq!(p.client_id, "maia-portal");
    assert_eq!(
        p.client_secret_file.as_deref(),
        Some(std::path::Path::new("/etc/maia/portal.secret"))
    );
    // Plain http is fine on this machine; without a file the secret comes from the
    // environment (MAIA_PORTAL_CLIENT_SECRET).
    for (url, host) in [
        ("http://localhost:8080", "localhost"),
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("http://[::1]:8080", "[::1]"),
    ] {
        let c = format!("{NGINX}\nportal:\n  url: {url}\n  client_id: maia-portal\n");
        let p = load(GROUP, &c, None, false)
            .unwrap()
            .spec
            .cluster
            .portal
            .unwrap();
        assert_eq!((p.url.as_str(), p.host.as_str()), (url, host));
        assert_eq!(p.client_secret_file, None);
    }
}

#[test]
fn bad_portal_settings_are_refused_with_their_field() {
    let base = "portal:\n  url: https://maia.example.org\n  client_id: maia-portal\n";
    for (extra, path, words, hint) in [
        (
            "portal:\n  client_id: maia-portal\n",
            "portal.url",
            "url is missing",
            "https://maia.example.org",
        ),
        (
            "portal:\n  url: https://maia.example.org\n",
            "portal.client_id",
            "client_id is missing",
            "maia-portal",
        ),
        (
            "portal:\n  url: maia.example.org\n  client_id: maia-portal\n",
            "portal.url",
            "not a URL",
            "https://",
        ),
        (
            "portal:\n  url: http://maia.example.org\n  client_id: maia-portal\n",
            "portal.url",
            "plain http",
            "https",
        ),
        (
            "portal:\n  url: ftp://maia.example.org\n  client_id: maia-portal\n",
            "portal.url",
            "not an http(s) URL",
            "https://",
        ),
        (
            "portal:\n  url: https://maia.example.org/portal\n  client_id: maia-portal\n",
            "portal.url",
            "has a path",
            "root of its host",
        ),
        (
            "portal:\n  url: https://user@maia.example.org\n  client_id: maia-portal\n",
            "portal.url",
            "no valid host",
            "https://HOST",
        ),
        (
            &format!("{base}  client_secret: hunter2\n"),
            "portal.client_secret",
            "not written in the cluster config",
            "MAIA_PORTAL_CLIENT_SECRET",
        ),
    ] {
        let c = format!("{NGINX}\n{extra}");
        let d = the_error(GROUP, &c, None, false);
        assert_eq!(d.path.to_string(), path, "{extra}: {d}");
        assert!(d.message.contains(words), "{extra}: {d}");
        assert!(
            d.hint.as_deref().unwrap_or_default().contains(hint),
            "{extra}: {d}"
        );
        assert_eq!(d.file.to_string_lossy(), "cluster.yaml", "{d}");
        // Placed in the portal section (at the field, or at `portal:` when it is missing).
        let line = d.location.map(|(line, _)| line).unwrap_or_default();
        assert!(line >= line_of(&c, "portal:"), "{extra}: {d}");
        assert!(!d.to_string().contains("hunter2"), "{d}");
    }
}
