//! What a workspace owns, guarded against its own members. The member Role must let
//! researchers run, change and delete their own apps, and RBAC cannot say "every pod
//! but these": so a ValidatingAdmissionPolicy, bound to the workspace's namespace and
//! matching only the members' requests (the group the member RoleBinding names),
//! refuses what the Role would otherwise allow on the workspace's own objects:
//!
//! - changing or deleting an object the workspace owns (what maia renders, the charts'
//!   objects and the pods and claims their controllers make: the hub, the members'
//!   servers and homes, MySQL, MinIO, Label Studio's PostgreSQL, …), found by labels;
//! - `exec`, `attach` and `port-forward` into the workspace's pods, found by name (a
//!   CONNECT request carries only the pod's name);
//! - a pod, or a workload's pod template, that runs as one of the namespace's service
//!   accounts (the hub's may read every Secret and delete pods and claims) or mounts
//!   one of the workspace's claims (MySQL's data, another member's home).
//!
//! What is guarded is data ([`Owned`]), rendered into the policy's CEL and read by the
//! tests, so the two cannot drift apart. The policy is cluster-scoped; maia owns and
//! prunes it with the workspace (its labels and the inventory).

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation, Variable,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use maia_spec::workspace::{WorkspaceSpec, jupyterhub_user};

use super::Component;
use crate::labels::{INSTANCE, PART_OF, WORKSPACE, workspace_labels};
use crate::object::Object;

/// Prefix of the policy's and the binding's names (`maia-workspace-guard-<namespace>`).
pub const NAME_PREFIX: &str = "maia-workspace-guard-";
/// The claim every member mounts (their servers, Label Studio, the file browser): the
/// one workspace claim a member's pod may mount.
const SHARED_CLAIM: &str = "shared";
/// The workloads whose pod templates a member writes (CREATE and UPDATE are checked).
pub const POD_TEMPLATE_RESOURCES: [&str; 6] = [
    "pods",
    "deployments",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
];

/// The policy's (and its binding's) name for a namespace.
pub fn name(namespace: &str) -> String {
    format!("{NAME_PREFIX}{namespace}")
}

/// The shape of the names a controller gives what it makes from one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The name itself.
    Exact,
    /// The name, then anything (a chart release's objects, a member's named servers).
    Prefix,
    /// A Deployment's pods: `NAME-<replicaset hash>-<pod suffix>`.
    DeploymentPod,
    /// A Job's pods: `NAME-<suffix>`.
    JobPod,
    /// A StatefulSet's pods and claims: `NAME-<ordinal>`.
    Ordinal,
}

/// A pattern of names: a name and how a controller extends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    /// The fixed part.
    pub name: String,
    /// What follows it.
    pub shape: Shape,
}

impl NamePattern {
    fn new(name: impl Into<String>, shape: Shape) -> Self {
        NamePattern {
            name: name.into(),
            shape,
        }
    }

    /// The pattern as an anchored RE2 regular expression, as CEL's `matches` takes it.
    pub fn regex(&self) -> String {
        // Kubernetes names are DNS subdomains: `.` is their one regex character.
        let name = self.name.replace('.', "[.]");
        let tail = match self.shape {
            Shape::Exact => "",
            Shape::Prefix => ".*",
            Shape::DeploymentPod => "-[a-z0-9]+-[a-z0-9]+",
            Shape::JobPod => "-[a-z0-9]+",
            Shape::Ordinal => "-[0-9]+",
        };
        format!("^{name}{tail}$")
    }

    /// Whether `candidate` is one of the names (what [`NamePattern::regex`] matches).
    pub fn matches(&self, candidate: &str) -> bool {
        let Some(rest) = candidate.strip_prefix(self.name.as_str()) else {
            return false;
        };
        let part = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        match self.shape {
            Shape::Exact => rest.is_empty(),
            Shape::Prefix => true,
            Shape::DeploymentPod => rest
                .strip_prefix('-')
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(a, b)| part(a) && part(b)),
            Shape::JobPod => rest.strip_prefix('-').is_some_and(part),
            Shape::Ordinal => rest
                .strip_prefix('-')
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit())),
        }
    }
}

/// What the workspace owns, as the guard recognises it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owned {
    /// Label sets: an object carrying every label of one of them is the workspace's.
    pub labels: Vec<BTreeMap<String, String>>,
    /// The workspace's pods, by name (no exec, attach or port-forward).
    pub pods: Vec<NamePattern>,
    /// The workspace's claims, by name (no member's pod mounts them).
    pub claims: Vec<NamePattern>,
}

impl Owned {
    /// Whether an object with these labels is the workspace's.
    pub fn owns_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels
            .iter()
            .any(|set| set.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }

    /// Whether a pod of this name is the workspace's.
    pub fn owns_pod(&self, name: &str) -> bool {
        self.pods.iter().any(|p| p.matches(name))
    }

    /// Whether a claim of this name is the workspace's.
    pub fn owns_claim(&self, name: &str) -> bool {
        self.claims.iter().any(|p| p.matches(name))
    }
}

fn label(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_string(), value.to_string())])
}

/// What the workspace owns: everything maia rendered (its `part-of` label; the pods of
/// the app-rendered MySQL and MLflow by their selectors), the chart releases' objects
/// and the pods and claims made for them, the MinIO Tenant's pods and claims.
pub fn owned(spec: &WorkspaceSpec, components: &[Component]) -> Owned {
    let mut owned = Owned {
        labels: vec![label(PART_OF, WORKSPACE)],
        ..Default::default()
    };
    for object in components.iter().flat_map(|c| &c.objects) {
        let name = object.name().to_string();
        match object {
            Object::Deployment(d) => {
                let spec = d.spec.as_ref();
                let template = spec
                    .and_then(|s| s.template.metadata.as_ref())
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default();
                // Pods of app-rendered components carry the app's labels, not `part-of`.
                if !owned.owns_labels(&template)
                    && let Some(selector) = spec.and_then(|s| s.selector.match_labels.clone())
                    && !selector.is_empty()
                {
                    owned.labels.push(selector);
                }
                owned
                    .pods
                    .push(NamePattern::new(name, Shape::DeploymentPod));
            }
            Object::Job(_) => owned.pods.push(NamePattern::new(name, Shape::JobPod)),
            Object::PersistentVolumeClaim(_) if name != SHARED_CLAIM => {
                owned.claims.push(NamePattern::new(name, Shape::Exact));
            }
            Object::Custom(c) if c.kind == "Tenant" => {
                owned.labels.push(label("v1.min.io/tenant", &name));
                for pool in c.body["spec"]["pools"].as_array().into_iter().flatten() {
                    let pool_name = pool["name"].as_str().unwrap_or("pool-0");
                    let volumes = pool["volumesPerServer"].as_u64().unwrap_or(1);
                    let prefix = format!("{name}-{pool_name}");
                    owned.pods.push(NamePattern::new(&prefix, Shape::Ordinal));
                    for v in 0..volumes {
                        owned.claims.push(NamePattern::new(
                            format!("data{v}-{prefix}"),
                            Shape::Ordinal,
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for release in components.iter().flat_map(|c| &c.helm) {
        let name = release.release.as_str();
        if release.chart == "jupyterhub" {
            // z2jh labels all it makes, and KubeSpawner the members' servers and
            // homes, `release: <release>`; its objects are not prefixed by it.
            owned.labels.push(label("release", name));
            owned
                .pods
                .push(NamePattern::new("hub", Shape::DeploymentPod));
            owned
                .pods
                .push(NamePattern::new("proxy", Shape::DeploymentPod));
            owned
                .claims
                .push(NamePattern::new("hub-db-dir", Shape::Exact));
            for user in &spec.users {
                let jh_user = jupyterhub_user(user);
                owned.pods.push(NamePattern::new(
                    format!("jupyter-{jh_user}"),
                    Shape::Prefix,
                ));
                owned
                    .claims
                    .push(NamePattern::new(format!("claim-{jh_user}"), Shape::Prefix));
            }
        } else {
            // Charts built on Helm's conventions (oauth2-proxy, Label Studio and their
            // bitnami Redis and PostgreSQL): `app.kubernetes.io/instance: <release>`
            // on everything, names starting with the release; the StatefulSets'
            // claims are `<template>-<release>-…`.
            owned.labels.push(label(INSTANCE, name));
            owned
                .pods
                .push(NamePattern::new(format!("{name}-"), Shape::Prefix));
            for template in ["data", "redis-data"] {
                owned.claims.push(NamePattern::new(
                    format!("{template}-{name}-"),
                    Shape::Prefix,
                ));
            }
        }
    }
    owned.labels.dedup();
    owned
}

/// A CEL string literal.
fn cel_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn cel_list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

fn cel_map(map: &BTreeMap<String, String>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", cel_string(k), cel_string(v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

fn rule(groups: &[&str], resources: &[&str], operations: &[&str]) -> NamedRuleWithOperations {
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    NamedRuleWithOperations {
        api_groups: strings(groups),
        api_versions: strings(&["*"]),
        operations: strings(operations),
        resources: strings(resources),
        scope: Some("Namespaced".into()),
        ..Default::default()
    }
}

/// The members' group and the admins' group, as the RoleBindings name them.
pub fn groups(spec: &WorkspaceSpec) -> (String, String) {
    let prefix = &spec.cluster.tenancy.oidc_groups_prefix;
    (
        format!("{prefix}{}", spec.keycloak_group()),
        format!("{prefix}MAIA:admin"),
    )
}

/// The policy and its binding.
pub(crate) fn render(spec: &WorkspaceSpec, components: &[Component]) -> Vec<Object> {
    let ns = spec.namespace.to_string();
    let name = name(&ns);
    let meta = || ObjectMeta {
        name: Some(name.clone()),
        labels: Some(workspace_labels(&ns, "tenancy")),
        ..Default::default()
    };
    let owned = owned(spec, components);
    let (members, admins) = groups(spec);
    let variable = |name: &str, expression: String| Variable {
        name: name.into(),
        expression,
    };
    let template_resources = cel_list(POD_TEMPLATE_RESOURCES.iter().map(|r| cel_string(r)));
    let variables = vec![
        variable(
            "owned_labels",
            cel_list(owned.labels.iter().map(cel_map)),
        ),
        variable(
            "owned_pods",
            cel_list(owned.pods.iter().map(|p| cel_string(&p.regex()))),
        ),
        variable(
            "owned_claims",
            cel_list(owned.claims.iter().map(|p| cel_string(&p.regex()))),
        ),
        // DELETE and UPDATE carry the object as it is: its labels say whose it is.
        variable(
            "old_labels",
            "(request.operation in ['UPDATE', 'DELETE'] && has(oldObject.metadata.labels)) ? oldObject.metadata.labels : {}".into(),
        ),
        variable(
            "owned",
            "variables.owned_labels.exists(s, s.all(k, k in variables.old_labels && variables.old_labels[k] == s[k]))".into(),
        ),
        variable(
            "writes_pod_spec",
            format!(
                "request.operation in ['CREATE', 'UPDATE'] && request.subResource == '' && request.resource.resource in {template_resources}"
            ),
        ),
        variable(
            "pod_spec",
            "request.resource.resource == 'pods' ? object.spec : (request.resource.resource == 'cronjobs' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)".into(),
        ),
    ];
    let validation = |expression: &str, message: String| Validation {
        expression: expression.into(),
        message_expression: Some(message),
        reason: Some("Forbidden".into()),
        ..Default::default()
    };
    let who = format!("workspace {}", spec.group_id);
    let validations = vec![
        validation(
            "!(request.operation in ['UPDATE', 'DELETE']) || !variables.owned",
            format!(
                "request.resource.resource + '/' + request.name + ' belongs to {who}: members may not change or delete it (ask the workspace admin)'"
            ),
        ),
        validation(
            "request.operation != 'CONNECT' || !variables.owned_pods.exists(p, request.name.matches(p))",
            format!(
                "'pod ' + request.name + ' belongs to {who}: members may not exec, attach or port-forward into it'"
            ),
        ),
        validation(
            "!variables.writes_pod_spec || ((!has(variables.pod_spec.serviceAccountName) || variables.pod_spec.serviceAccountName in ['', 'default']) && (!has(variables.pod_spec.serviceAccount) || variables.pod_spec.serviceAccount in ['', 'default']))",
            format!(
                "request.resource.resource + '/' + request.name + ': members\\' pods run as the service account default only; the others of {who} hold its rights'"
            ),
        ),
        // A token Secret a member creates for a service account is filled in by the
        // cluster: the hub's token, mountable like any Secret.
        validation(
            "!(request.operation == 'CREATE' && request.resource.resource == 'secrets') || !has(object.type) || object.type != 'kubernetes.io/service-account-token'",
            format!(
                "'secret ' + request.name + ': members may not create service account tokens in {who}'"
            ),
        ),
        // A claim cloned from the workspace's is a copy of its data.
        validation(
            "!(request.operation == 'CREATE' && request.resource.resource == 'persistentvolumeclaims') || ((!has(object.spec.dataSource) || !variables.owned_claims.exists(p, object.spec.dataSource.name.matches(p))) && (!has(object.spec.dataSourceRef) || !variables.owned_claims.exists(p, object.spec.dataSourceRef.name.matches(p))))",
            format!(
                "'persistentvolumeclaim ' + request.name + ' would copy a volume claim of {who}'"
            ),
        ),
        validation(
            "!variables.writes_pod_spec || !has(variables.pod_spec.volumes) || !variables.pod_spec.volumes.exists(v, has(v.persistentVolumeClaim) && variables.owned_claims.exists(p, v.persistentVolumeClaim.claimName.matches(p)))",
            format!(
                "request.resource.resource + '/' + request.name + ' mounts a volume claim of {who} (its databases, object store or a member\\'s home); members may mount their own claims and shared'"
            ),
        ),
    ];
    let policy = ValidatingAdmissionPolicy {
        metadata: meta(),
        spec: Some(ValidatingAdmissionPolicySpec {
            failure_policy: Some("Fail".into()),
            match_constraints: Some(MatchResources {
                resource_rules: Some(vec![
                    rule(&["*"], &["*"], &["UPDATE", "DELETE"]),
                    rule(
                        &[""],
                        &["pods/exec", "pods/attach", "pods/portforward"],
                        &["CONNECT"],
                    ),
                    rule(&["", "apps", "batch"], &POD_TEMPLATE_RESOURCES, &["CREATE"]),
                    rule(&[""], &["secrets", "persistentvolumeclaims"], &["CREATE"]),
                ]),
                ..Default::default()
            }),
            // Only the members' own requests; an admin who is also a member keeps the
            // admin's rights, and maia, helm and the controllers are not members.
            match_conditions: Some(vec![
                MatchCondition {
                    name: "members".into(),
                    expression: format!("{} in request.userInfo.groups", cel_string(&members)),
                },
                MatchCondition {
                    name: "not-admins".into(),
                    expression: format!("!({} in request.userInfo.groups)", cel_string(&admins)),
                },
            ]),
            variables: Some(variables),
            validations: Some(validations),
            ..Default::default()
        }),
        ..Default::default()
    };
    let binding = ValidatingAdmissionPolicyBinding {
        metadata: meta(),
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(name.clone()),
            validation_actions: Some(vec!["Deny".into()]),
            match_resources: Some(MatchResources {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(label("kubernetes.io/metadata.name", &ns)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    vec![policy.into(), binding.into()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{first_bundle as bundle, variants};
    use maia_spec::app::VolumeSpec;
    use serde_json::{Value, json};

    fn json(o: &Object) -> Value {
        o.to_json().unwrap()
    }

    fn labels_of(v: &Value) -> BTreeMap<String, String> {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    fn tenancy(b: &crate::workspace::Bundle) -> Vec<Value> {
        let c = b.components.iter().find(|c| c.name == "tenancy").unwrap();
        c.objects.iter().map(json).collect()
    }

    fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    }

    /// Pod names as the controllers make them from a workload's name.
    fn pod_names(kind: &str, name: &str) -> Vec<String> {
        match kind {
            "Deployment" => vec![
                format!("{name}-7d9f8c6b5-x2x4q"),
                format!("{name}-5c4b-abcde"),
            ],
            _ => vec![format!("{name}-x2x4q")],
        }
    }

    #[test]
    fn the_policy_is_bound_to_the_namespace_and_matches_the_members_only() {
        for (scenario, spec) in variants() {
            let b = bundle(&spec);
            let objects = tenancy(&b);
            let policy = find(&objects, "ValidatingAdmissionPolicy");
            let binding = find(&objects, "ValidatingAdmissionPolicyBinding");
            let ns = spec.namespace.to_string();
            assert_eq!(policy["apiVersion"], "admissionregistration.k8s.io/v1");
            // Cluster-scoped, and owned like every workspace object.
            assert!(policy["metadata"].get("namespace").is_none(), "{scenario}");
            assert!(binding["metadata"].get("namespace").is_none(), "{scenario}");
            for o in [policy, binding] {
                assert_eq!(o["metadata"]["name"], name(&ns));
                assert_eq!(o["metadata"]["labels"][INSTANCE], ns.as_str());
                assert_eq!(o["metadata"]["labels"][PART_OF], WORKSPACE);
            }
            assert_eq!(binding["spec"]["policyName"], name(&ns));
            assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
            assert_eq!(
                binding["spec"]["matchResources"]["namespaceSelector"],
                json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})
            );
            assert_eq!(policy["spec"]["failurePolicy"], "Fail");
            // The subjects of the member RoleBinding, and not the admins'.
            let member_group = objects
                .iter()
                .find(|o| o["kind"] == "RoleBinding" && o["metadata"]["name"] == "maia-members")
                .unwrap()["subjects"][0]["name"]
                .as_str()
                .unwrap()
                .to_string();
            let admin_group = objects
                .iter()
                .find(|o| o["kind"] == "RoleBinding" && o["metadata"]["name"] == "maia-admins")
                .unwrap()["subjects"][0]["name"]
                .as_str()
                .unwrap()
                .to_string();
            let conditions = &policy["spec"]["matchConditions"];
            assert_eq!(
                conditions[0]["expression"],
                format!("'{member_group}' in request.userInfo.groups")
            );
            assert_eq!(
                conditions[1]["expression"],
                format!("!('{admin_group}' in request.userInfo.groups)")
            );
            // Which requests: changes and deletions of anything, connections to pods,
            // and new pods and workloads.
            let rules = policy["spec"]["matchConstraints"]["resourceRules"]
                .as_array()
                .unwrap();
            let rule_for = |op: &str, resource: &str| {
                rules.iter().any(|r| {
                    r["operations"].as_array().unwrap().iter().any(|o| o == op)
                        && r["resources"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|x| x == resource || x == "*")
                        && r["scope"] == "Namespaced"
                })
            };
            for resource in [
                "persistentvolumeclaims",
                "pods",
                "deployments",
                "services",
                "secrets",
            ] {
                assert!(
                    rule_for("UPDATE", resource),
                    "{scenario}: UPDATE {resource}"
                );
                assert!(
                    rule_for("DELETE", resource),
                    "{scenario}: DELETE {resource}"
                );
            }
            for resource in ["pods/exec", "pods/attach", "pods/portforward"] {
                assert!(rule_for("CONNECT", resource), "{scenario}: {resource}");
            }
            for resource in POD_TEMPLATE_RESOURCES {
                assert!(
                    rule_for("CREATE", resource),
                    "{scenario}: CREATE {resource}"
                );
            }
            // A service account's token Secret, a clone of the workspace's claims.
            assert!(rule_for("CREATE", "secrets"), "{scenario}");
            assert!(rule_for("CREATE", "persistentvolumeclaims"), "{scenario}");
            let validations = policy["spec"]["validations"].to_string();
            assert!(validations.contains("kubernetes.io/service-account-token"));
            assert!(validations.contains("object.spec.dataSourceRef.name.matches(p)"));
            assert!(validations.contains("variables.pod_spec.serviceAccountName"));
            assert!(validations.contains("v.persistentVolumeClaim.claimName.matches(p)"));
            assert!(!rule_for("CREATE", "configmaps"), "{scenario}");
        }
    }

    #[test]
    fn every_object_and_pod_the_workspace_renders_is_guarded() {
        for (scenario, spec) in variants() {
            let b = bundle(&spec);
            let owned = owned(&spec, &b.components);
            for object in b.objects() {
                let v = json(object);
                if object.namespace().is_none() {
                    continue;
                }
                assert!(
                    owned.owns_labels(&labels_of(&v["metadata"]["labels"])),
                    "{scenario}: {} is not guarded",
                    object.reference()
                );
                if let Some(template) = v["spec"]["template"]["metadata"]["labels"].as_object() {
                    assert!(
                        owned.owns_labels(&labels_of(&json!(template))),
                        "{scenario}: the pods of {} are not guarded",
                        object.reference()
                    );
                    for pod in pod_names(object.kind(), object.name()) {
                        assert!(owned.owns_pod(&pod), "{scenario}: exec into {pod}");
                    }
                }
                if object.kind() == "PersistentVolumeClaim" {
                    // Members share `shared`; every other claim is the workspace's.
                    assert_eq!(
                        owned.owns_claim(object.name()),
                        object.name() != SHARED_CLAIM,
                        "{scenario}: {}",
                        object.reference()
                    );
                }
            }
            // The policy says what the tests read.
            let objects = tenancy(&b);
            let policy = find(&objects, "ValidatingAdmissionPolicy");
            let variable = |n: &str| {
                policy["spec"]["variables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["name"] == n)
                    .unwrap()["expression"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            for p in &owned.pods {
                assert!(variable("owned_pods").contains(&format!("'{}'", p.regex())));
            }
            for p in &owned.claims {
                assert!(variable("owned_claims").contains(&format!("'{}'", p.regex())));
            }
            for set in &owned.labels {
                for (k, v) in set {
                    assert!(variable("owned_labels").contains(&format!("'{k}': '{v}'")));
                }
            }
        }
    }

    #[test]
    fn the_charts_pods_and_claims_are_guarded_by_their_labels_and_names() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let owned = owned(&spec, &b.components);
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        // The hub, a member's server and home (z2jh, KubeSpawner), Label Studio's
        // PostgreSQL (bitnami), MinIO's servers and volumes (the operator).
        for set in [
            labels(&[
                ("app", "jupyterhub"),
                ("component", "hub"),
                ("release", "jupyterhub-brain-mri"),
            ]),
            labels(&[
                ("component", "singleuser-server"),
                ("release", "jupyterhub-brain-mri"),
                ("hub.jupyter.org/username", "bob-2esmith-40example-2eorg"),
            ]),
            labels(&[
                ("component", "singleuser-storage"),
                ("release", "jupyterhub-brain-mri"),
            ]),
            labels(&[
                ("app.kubernetes.io/instance", "label-studio"),
                ("app.kubernetes.io/name", "postgresql"),
            ]),
            labels(&[
                ("app.kubernetes.io/instance", "oauth2-proxy"),
                ("app.kubernetes.io/name", "redis"),
            ]),
            labels(&[
                ("v1.min.io/tenant", "brain-mri"),
                ("v1.min.io/pool", "pool-0"),
            ]),
            labels(&[
                ("app", "mysql-db-v1"),
                ("app.kubernetes.io/instance", "mysql-db-v1"),
                ("app.kubernetes.io/name", "mkg"),
                ("version", "1.0.2"),
            ]),
        ] {
            assert!(owned.owns_labels(&set), "{set:?}");
        }
        for pod in [
            "hub-6c9b7f8d5-k2x7q",
            "proxy-7d4f9c6b5-p9z8x",
            "jupyter-alice-40example-2eorg",
            "jupyter-bob-2esmith-40example-2eorg--gpu",
            "label-studio-postgresql-0",
            "label-studio-ls-app-5d8f7c9b6-q2w3e",
            "oauth2-proxy-redis-master-0",
            "oauth2-proxy-6b7c8d9f4-z9y8x",
            "brain-mri-pool-0-0",
            "mysql-db-v1-mkg-5f6d7c8b9-a1b2c",
            "minio-setup-x7k2p",
        ] {
            assert!(owned.owns_pod(pod), "{pod}");
        }
        for claim in [
            "hub-db-dir",
            "claim-alice-40example-2eorg",
            "data-label-studio-postgresql-0",
            "redis-data-oauth2-proxy-redis-master-0",
            "data0-brain-mri-pool-0-0",
            "mysql-db-v1-mkg-claim-0",
            "brain-mri-pvc",
        ] {
            assert!(owned.owns_claim(claim), "{claim}");
        }
    }

    #[test]
    fn a_members_own_app_stays_theirs() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let owned = owned(&spec, &b.components);
        let mut app = crate::workspace::mysql::base_app(
            spec.namespace.as_str(),
            "jupyterlab-1-v1",
            "jupyter/base-notebook:latest",
        )
        .unwrap();
        app.volumes = vec![VolumeSpec {
            claim_name: "jupyterlab-1-v1-mkg-claim-0".parse().unwrap(),
            volume_name: "hive-persistent-storage-0".into(),
            mount_path: "/data".into(),
            size: "1Gi".parse().unwrap(),
            access_mode: "ReadWriteOnce".into(),
            storage_class: None,
            read_only: None,
        }];
        let objects = crate::app::render(&app, &Default::default()).unwrap();
        assert!(objects.len() >= 2);
        for object in &objects {
            let v = json(object);
            assert!(
                !owned.owns_labels(&labels_of(&v["metadata"]["labels"])),
                "{}",
                object.reference()
            );
            if let Some(template) = v["spec"]["template"]["metadata"]["labels"].as_object() {
                assert!(!owned.owns_labels(&labels_of(&json!(template))));
                for pod in pod_names(object.kind(), object.name()) {
                    assert!(!owned.owns_pod(&pod), "{pod}");
                }
            }
            if object.kind() == "PersistentVolumeClaim" {
                assert!(!owned.owns_claim(object.name()), "{}", object.reference());
            }
        }
        // The members' shared claim, and apps whose names only look alike.
        assert!(!owned.owns_claim(SHARED_CLAIM));
        for pod in [
            "hub-x-7d9f8c6b5-abcde",
            "my-hub-7d9f8c6b5-abcde",
            "jupyterlab-1-v1-mkg-7d9f8c6b5-abcde",
        ] {
            assert!(!owned.owns_pod(pod), "{pod}");
        }
    }

    #[test]
    fn name_patterns_match_what_their_regex_says() {
        let p = |name: &str, shape| NamePattern::new(name, shape);
        assert_eq!(
            p("hub", Shape::DeploymentPod).regex(),
            "^hub-[a-z0-9]+-[a-z0-9]+$"
        );
        assert_eq!(p("a.b", Shape::Exact).regex(), "^a[.]b$");
        assert_eq!(p("x-", Shape::Prefix).regex(), "^x-.*$");
        assert!(p("hub", Shape::DeploymentPod).matches("hub-7d9f8c6b5-abcde"));
        assert!(!p("hub", Shape::DeploymentPod).matches("hub-x-7d9f8c6b5-abcde"));
        assert!(!p("hub", Shape::DeploymentPod).matches("hub-abcde"));
        assert!(p("job", Shape::JobPod).matches("job-abcde"));
        assert!(!p("job", Shape::JobPod).matches("job-abcde-fghij"));
        assert!(p("db", Shape::Ordinal).matches("db-12"));
        assert!(!p("db", Shape::Ordinal).matches("db-x"));
        assert!(p("db", Shape::Exact).matches("db"));
        assert!(!p("db", Shape::Exact).matches("db-0"));
    }
}
