//! Checks made before the first write of a workspace deploy. Every problem is found and
//! reported at once, each with what to do; if any is fatal nothing is changed.

use std::ffi::OsStr;

use futures::future::join_all;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, ResourceRule, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, PostParams};
use maia_spec::workspace::{IngressController, WorkspaceSpec};

use crate::error::{DeployError, Result};
use crate::tools::{self, ToolInfo};
use maia_kube::cluster::Cluster;
use maia_kube::kinds::{Kind, KindTable};

pub use crate::error::Problem;

/// What preflight found: problems (none means go), the kinds resolved through
/// discovery and the tools found.
#[derive(Debug, Clone)]
pub(crate) struct Preflight {
    pub(crate) problems: Vec<Problem>,
    pub(crate) kinds: KindTable,
    pub(crate) tools: Vec<ToolInfo>,
    /// Whether the workspace's namespace exists (read once, here).
    pub(crate) namespace_exists: bool,
    /// The namespace as read here (JSON, with apiVersion and kind): the plan takes it
    /// instead of listing Namespaces again (nothing in between writes one).
    pub(crate) namespace: Option<serde_json::Value>,
}

/// Which external programs the deploy will run.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// helm, for the OAuth2 proxy, Label Studio and JupyterHub charts.
    pub helm: bool,
    /// kubectl and git, for KubeFlow Pipelines' remote kustomization.
    pub kubeflow: bool,
}

/// True for a namespace no workspace may use (see maia-spec, which refuses it first).
pub(crate) fn is_reserved(namespace: &str) -> bool {
    maia_spec::names::is_reserved_for_workspaces(namespace)
}

/// The API of the admission policy guarding a workspace's own objects from its members.
const ADMISSION_V1: &str = "admissionregistration.k8s.io/v1";

/// Every (apiVersion, kind) a workspace may render, in apply order; the Traefik
/// Middleware is listed in both API groups Traefik has used.
pub(crate) fn wanted_kinds() -> Vec<(String, String)> {
    [
        ("v1", "Namespace"),
        ("v1", "ResourceQuota"),
        ("v1", "LimitRange"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        (ADMISSION_V1, "ValidatingAdmissionPolicy"),
        (ADMISSION_V1, "ValidatingAdmissionPolicyBinding"),
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("minio.min.io/v2", "Tenant"),
        ("batch/v1", "Job"),
        ("apps/v1", "Deployment"),
        ("networking.k8s.io/v1", "Ingress"),
        ("traefik.io/v1alpha1", "Middleware"),
        ("traefik.containo.us/v1alpha1", "Middleware"),
    ]
    .into_iter()
    .map(|(v, k)| (v.to_string(), k.to_string()))
    .collect()
}

/// Runs every check. `path` is the PATH the tools are looked up in.
pub(crate) async fn run(
    cluster: &Cluster,
    spec: &WorkspaceSpec,
    needs: Needs,
    path: Option<&OsStr>,
    adopt_namespace: bool,
) -> Result<Preflight> {
    let mut problems = Vec::new();
    let namespace = spec.namespace.as_str();
    if is_reserved(namespace) {
        problems.push(Problem {
            check: "namespace",
            message: format!(
                "group {} maps to namespace {namespace}, which is reserved for the cluster",
                spec.group_id
            ),
            hint: "choose another group_ID in the group form".into(),
            bad_input: true,
        });
    }

    // Discovery doubles as the reachability check: an unreachable server fails here,
    // before anything else is tried.
    let (kinds, missing) = KindTable::discover(cluster, &wanted_kinds()).await?;
    let middleware = kinds.by_name("Middleware").cloned();
    let mut table: Vec<Kind> = Vec::new();
    for k in kinds.kinds() {
        // One Middleware kind: the group the cluster serves, traefik.io first.
        if k.kind == "Middleware" && Some(k) != middleware.as_ref() {
            continue;
        }
        table.push(k.clone());
    }
    let kinds = KindTable::new(table);
    let needs_tenant = !spec.minimal;
    let needs_middleware =
        !spec.minimal && matches!(spec.cluster.ingress, IngressController::Traefik { .. });
    for (api_version, kind) in &missing {
        match kind.as_str() {
            "Tenant" if needs_tenant => problems.push(Problem {
                check: "crd",
                message: format!("the cluster does not serve MinIO's Tenant ({api_version})"),
                hint: "install the MinIO Operator (https://min.io/docs/minio/kubernetes/upstream/operations/installation.html), or deploy with --minimal".into(),
                bad_input: false,
            }),
            "Middleware" if needs_middleware && middleware.is_none() => {
                if api_version == "traefik.io/v1alpha1" {
                    problems.push(Problem {
                        check: "crd",
                        message: "the cluster serves no Traefik Middleware (traefik.io/v1alpha1 or traefik.containo.us/v1alpha1)".into(),
                        hint: "install Traefik with its CRDs, or set the cluster config's ingress to NGINX".into(),
                        bad_input: false,
                    });
                }
            }
            "Tenant" | "Middleware" => {}
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding" => {
                problems.push(Problem {
                    check: "api",
                    message: format!(
                        "the cluster does not serve {kind} ({api_version}), which keeps members from deleting, changing or exec-ing into the workspace's own objects (its database and object store volumes, the hub)"
                    ),
                    hint: "upgrade the cluster to Kubernetes 1.30 or later (the API is GA there; maia targets 1.33)".into(),
                    bad_input: false,
                })
            }
            _ => problems.push(Problem {
                check: "api",
                message: format!("the cluster does not serve {kind} ({api_version})"),
                hint: "maia needs a Kubernetes API server of version 1.25 or later".into(),
                bad_input: false,
            }),
        }
    }

    let (permissions, classes, found) = futures::join!(
        permissions(cluster, spec),
        classes(cluster, spec),
        read_namespace(cluster, spec)
    );
    let found = found?;
    // k8s-openapi writes apiVersion and kind with the object, as a LIST's items get.
    let namespace = found.as_ref().and_then(|ns| serde_json::to_value(ns).ok());
    problems.extend(permissions?);
    problems.extend(classes?);
    problems.extend(namespace_owner(found.as_ref(), spec, adopt_namespace));
    problems.extend(namespace_terminating(found.as_ref(), spec));

    let mut tools_found = Vec::new();
    let mut wanted_tools: Vec<(&'static str, &'static str)> = Vec::new();
    if needs.helm {
        wanted_tools.push((
            "helm",
            "the OAuth2 proxy, Label Studio and JupyterHub charts",
        ));
    }
    if needs.kubeflow {
        wanted_tools.push(("kubectl", "KubeFlow Pipelines' kustomization"));
        wanted_tools.push((
            "git",
            "kubectl's download of KubeFlow's remote kustomization",
        ));
    }
    for (tool, needed_for) in wanted_tools {
        match tools::probe(tool, path).await {
            Ok(info) => tools_found.push(info),
            Err(e) => problems.push(Problem {
                check: "tool",
                message: format!("{tool} is needed for {needed_for}: {e}"),
                hint: format!(
                    "install {tool} and put it on PATH, or deploy with {} and run that step yourself",
                    if tool == "helm" { "--skip-helm" } else { "--skip-kubeflow" }
                ),
                bad_input: false,
            }),
        }
    }
    Ok(Preflight {
        problems,
        kinds,
        tools: tools_found,
        namespace_exists: found.is_some(),
        namespace,
    })
}

/// A resource a permission is about: API group, resource, namespace (`None`: cluster).
type Resource<'a> = (&'a str, &'a str, Option<&'a str>);

/// What the deploy may do in one namespace, as a SelfSubjectRulesReview tells: the
/// rules (RBAC's, which only ever grant) and whether the server says they are
/// incomplete (another authorizer, a webhook say, may allow more).
struct Rules {
    rules: Vec<ResourceRule>,
    incomplete: bool,
}

impl Rules {
    /// Whether a rule grants `verb` on `resource` of `group`, as RBAC matches it: a
    /// rule naming objects (`resourceNames`) grants nothing on the whole collection.
    fn allow(&self, verb: &str, group: &str, resource: &str) -> bool {
        let has = |list: &[String], wanted: &str| list.iter().any(|v| v == "*" || v == wanted);
        self.rules.iter().any(|r| {
            r.resource_names.as_ref().is_none_or(Vec::is_empty)
                && has(&r.verbs, verb)
                && has(r.api_groups.as_deref().unwrap_or_default(), group)
                && has(r.resources.as_deref().unwrap_or_default(), resource)
        })
    }
}

/// One SelfSubjectRulesReview of `namespace`; `None` when the server does not answer
/// it (then each permission is asked on its own).
async fn rules_review(cluster: &Cluster, namespace: &str) -> Option<Rules> {
    let api: Api<SelfSubjectRulesReview> = Api::all(cluster.client.clone());
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(namespace.to_string()),
        },
        ..Default::default()
    };
    let status = api
        .create(&PostParams::default(), &review)
        .await
        .ok()?
        .status?;
    Some(Rules {
        rules: status.resource_rules,
        incomplete: status.incomplete,
    })
}

/// Whether the deploy may do each verb on each resource it needs. In a namespace, one
/// SelfSubjectRulesReview answers them all; a SelfSubjectAccessReview asks only what
/// its rules do not grant when the server says they are incomplete, and what is
/// cluster-scoped (a namespace's rules also hold what a RoleBinding grants there, which
/// does not reach cluster-scoped objects). Several verbs on one resource are asked as
/// `*` first (what a cluster admin has), then one by one only if that is refused.
async fn permissions(cluster: &Cluster, spec: &WorkspaceSpec) -> Result<Vec<Problem>> {
    let ns = spec.namespace.as_str();
    let mut wanted: Vec<(&str, &str, &str, Option<&str>)> = vec![
        ("create", "", "namespaces", None),
        ("list", "", "services", None),
        (
            "create",
            "coordination.k8s.io",
            "leases",
            Some(super::facts::STATE_NAMESPACE),
        ),
        ("create", "", "secrets", Some(super::facts::STATE_NAMESPACE)),
    ];
    for (group, resource) in [
        ("", "secrets"),
        ("", "configmaps"),
        ("", "persistentvolumeclaims"),
        ("", "services"),
        ("apps", "deployments"),
        ("batch", "jobs"),
        ("networking.k8s.io", "ingresses"),
        ("", "resourcequotas"),
        ("", "limitranges"),
        ("networking.k8s.io", "networkpolicies"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
    ] {
        for verb in ["create", "patch", "list", "delete"] {
            wanted.push((verb, group, resource, Some(ns)));
        }
    }
    // Cluster-scoped: the workspace's admission guard.
    for resource in [
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ] {
        for verb in ["create", "patch", "list", "delete"] {
            wanted.push((verb, "admissionregistration.k8s.io", resource, None));
        }
    }
    if !spec.minimal {
        for verb in ["create", "patch", "list", "delete"] {
            wanted.push((verb, "minio.min.io", "tenants", Some(ns)));
        }
    }
    let mut namespaces: Vec<&str> = wanted.iter().filter_map(|w| w.3).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let reviews = join_all(namespaces.iter().map(|n| rules_review(cluster, n))).await;
    let rules: Vec<(&str, Rules)> = namespaces
        .into_iter()
        .zip(reviews)
        .filter_map(|(n, r)| Some((n, r?)))
        .collect();
    let mut allowed = vec![false; wanted.len()];
    // What the rules leave open, by resource: (group, resource, namespace) → checks.
    let mut ask: Vec<(Resource<'_>, Vec<usize>)> = Vec::new();
    for (i, (verb, group, resource, namespace)) in wanted.iter().enumerate() {
        let known = namespace.and_then(|n| rules.iter().find(|(r, _)| *r == n));
        match known {
            Some((_, r)) if r.allow(verb, group, resource) => allowed[i] = true,
            Some((_, r)) if !r.incomplete => {}
            _ => {
                let key = (*group, *resource, *namespace);
                match ask.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, checks)) => checks.push(i),
                    None => ask.push((key, vec![i])),
                }
            }
        }
    }
    let access = |verb: &str, (group, resource, namespace): Resource<'_>| {
        let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    namespace: namespace.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        async move {
            let review = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| {
                    DeployError::from_kube(
                        e,
                        &cluster.url,
                        "check",
                        "permissions (SelfSubjectAccessReview)",
                    )
                })?;
            Ok::<_, DeployError>(review.status.is_some_and(|s| s.allowed))
        }
    };
    // First round: `*` for a resource wanted with several verbs, else the one verb.
    let first = join_all(ask.iter().map(|(key, checks)| match checks.as_slice() {
        [one] => access(wanted[*one].0, *key),
        _ => access("*", *key),
    }))
    .await;
    let mut one_by_one = Vec::new();
    for ((key, checks), answer) in ask.iter().zip(first) {
        if answer? {
            for i in checks {
                allowed[*i] = true;
            }
        } else if checks.len() > 1 {
            one_by_one.extend(checks.iter().map(|i| (*i, *key)));
        }
    }
    let second = join_all(one_by_one.iter().map(|(i, key)| access(wanted[*i].0, *key))).await;
    for ((i, _), answer) in one_by_one.iter().zip(second) {
        allowed[*i] = answer?;
    }
    let mut denied = Vec::new();
    for ((verb, group, resource, namespace), allowed) in wanted.iter().zip(allowed) {
        if !allowed {
            let what = if group.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}.{group}")
            };
            denied.push(match namespace {
                Some(ns) => format!("{verb} {what} in {ns}"),
                None => format!("{verb} {what}"),
            });
        }
    }
    Ok(if denied.is_empty() {
        Vec::new()
    } else {
        vec![Problem {
            check: "permission",
            message: format!("you may not {}", denied.join(", ")),
            hint: "deploy as a cluster admin (a workspace creates a namespace and reads Services cluster-wide), or ask for those rights".into(),
            bad_input: false,
        }]
    })
}

/// The storage classes and the ingress class the cluster config names must exist.
async fn classes(cluster: &Cluster, spec: &WorkspaceSpec) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let storage: Api<StorageClass> = Api::all(cluster.client.clone());
    let have: Vec<String> = storage
        .list(&Default::default())
        .await
        .map_err(|e| DeployError::from_kube(e, &cluster.url, "list", "storageclasses"))?
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let c = &spec.cluster;
    let mut named: Vec<(&str, &String)> = Vec::new();
    for (field, value) in [
        ("storage_class", &c.storage_class),
        ("shared_storage_class", &c.shared_storage_class),
        ("hub_storage_class", &c.hub_storage_class),
    ] {
        if let Some(v) = value
            && !named.iter().any(|(_, n)| *n == v)
        {
            named.push((field, v));
        }
    }
    for (field, class) in named {
        if !have.contains(class) {
            problems.push(Problem {
                check: "storage-class",
                message: format!(
                    "the cluster config's {field} names storage class {class:?}, which the cluster does not have (it has: {})",
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                ),
                hint: format!("fix {field} in the cluster config, or create the storage class"),
                bad_input: false,
            });
        }
    }
    let ingress: Api<IngressClass> = Api::all(cluster.client.clone());
    let classes: Vec<String> = ingress
        .list(&Default::default())
        .await
        .map_err(|e| DeployError::from_kube(e, &cluster.url, "list", "ingressclasses"))?
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let class = c.ingress_class();
    if !classes.iter().any(|n| n == class) {
        problems.push(Problem {
            check: "ingress-class",
            message: format!(
                "the cluster has no IngressClass {class:?} (it has: {}), so the workspace's Ingresses would not be served",
                if classes.is_empty() { "none".to_string() } else { classes.join(", ") }
            ),
            hint: format!("set ingress_class in the cluster config to one the cluster has, or install the {class} ingress controller"),
            bad_input: false,
        });
    }
    Ok(problems)
}

/// A Namespace maia labelled as a workspace's (one deployed before the group-id
/// annotation was written, or whose annotation was edited away).
fn is_maias(namespace: &Namespace) -> bool {
    let labels = namespace.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    label(maia_render::labels::MANAGED_BY) == Some(maia_render::labels::MANAGER)
        && label(maia_render::labels::PART_OF) == Some(maia_render::labels::WORKSPACE)
}

/// A problem when the namespace exists and another group holds it, or maia did not
/// create it (unless `adopt`): a workspace puts a quota, a default-deny policy, its Pod
/// Security level and its members' RoleBinding on the namespace, over whatever runs
/// there already.
fn namespace_owner(
    found: Option<&Namespace>,
    spec: &WorkspaceSpec,
    adopt: bool,
) -> Option<Problem> {
    let ns = spec.namespace.as_str();
    let found = found?;
    let holder = found
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(maia_render::labels::GROUP_ID_ANNOTATION));
    match holder {
        Some(g) if *g != spec.group_id => Some(Problem {
            check: "namespace",
            message: format!(
                "namespace {ns} holds the workspace of group {g}, not {}",
                spec.group_id
            ),
            hint: "two groups whose IDs differ only in case, '_' or '.' map to one namespace: rename one group".into(),
            bad_input: true,
        }),
        Some(_) => None,
        None if adopt || is_maias(found) => None,
        None => Some(Problem {
            check: "namespace",
            message: format!(
                "namespace {ns} exists and was not created by maia (group {} maps to it); \
                 deploying would put the workspace's quota, default-deny network policy, Pod Security level \
                 and member access over what runs there",
                spec.group_id
            ),
            hint: format!(
                "look at what it holds (`kubectl get all,pvc,rolebindings -n {ns}`); if it is this group's, \
                 deploy once with --adopt-namespace to make it the workspace's, else rename the group"
            ),
            bad_input: true,
        }),
    }
}

/// The workspace's namespace, if it exists (one GET, for every check on it).
async fn read_namespace(cluster: &Cluster, spec: &WorkspaceSpec) -> Result<Option<Namespace>> {
    let ns = spec.namespace.as_str();
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    api.get_opt(ns)
        .await
        .map_err(|e| DeployError::from_kube(e, &cluster.url, "get", format!("namespace/{ns}")))
}

/// A problem when the namespace is being deleted: the API server refuses every write
/// into it (with a 403 that reads like a missing permission), so the deploy would stop
/// at its first object. Says what holds it, when the namespace tells.
fn namespace_terminating(found: Option<&Namespace>, spec: &WorkspaceSpec) -> Option<Problem> {
    let ns = spec.namespace.as_str();
    let found = found?;
    let terminating = found.metadata.deletion_timestamp.is_some()
        || found
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Terminating");
    if !terminating {
        return None;
    }
    Some(Problem {
        check: "namespace",
        message: format!(
            "namespace {ns} is being deleted (Terminating){}",
            match terminating_blockers(found).as_slice() {
                [] => String::new(),
                what => format!(": {}", what.join("; ")),
            }
        ),
        hint: format!(
            "wait until it is gone and deploy again; if it stays, `kubectl get namespace {ns} -o yaml` shows its conditions, and the objects whose finalizers hold it need their controller (or the finalizer removed by hand)"
        ),
        bad_input: false,
    })
}

/// What keeps a namespace from being deleted: its finalizers and the namespace
/// controller's conditions that are true (finalizers or content remaining, discovery
/// or deletion failures), with their messages.
fn terminating_blockers(namespace: &Namespace) -> Vec<String> {
    let mut out = Vec::new();
    let finalizers: Vec<&String> = namespace
        .metadata
        .finalizers
        .iter()
        .flatten()
        .chain(
            namespace
                .spec
                .as_ref()
                .and_then(|s| s.finalizers.as_ref())
                .into_iter()
                .flatten(),
        )
        .filter(|f| *f != "kubernetes")
        .collect();
    if !finalizers.is_empty() {
        out.push(format!(
            "finalizers {}",
            finalizers
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for c in namespace
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.status == "True")
    {
        out.push(match &c.message {
            Some(m) if !m.is_empty() => format!("{}: {m}", c.type_),
            _ => c.type_.clone(),
        });
    }
    out
}

/// Problems the plan shows before anything is written: objects of the workspace's
/// names that maia did not create, and setup Jobs or volume claims that cannot change
/// as planned. All are reported at once (deploying would otherwise stop at the first,
/// after the credentials were kept), each with what a workspace admin can do.
pub(crate) fn plan_problems(plan: &super::WorkspacePlan) -> Vec<Problem> {
    use maia_kube::plan::{Change, Step};
    let mut problems = Vec::new();
    for step in &plan.objects.steps {
        let Step::Apply {
            object,
            change,
            kind,
            ..
        } = step
        else {
            continue;
        };
        let delete = format!(
            "kubectl delete {} {}{}",
            kind.kind.to_ascii_lowercase(),
            object.name,
            object
                .namespace()
                .map(|ns| format!(" -n {ns}"))
                .unwrap_or_default()
        );
        match change {
            Change::NotOwned => problems.push(Problem {
                check: "collision",
                message: format!(
                    "{object} in {} already exists and was not created by maia",
                    object.namespace().unwrap_or("the cluster")
                ),
                hint: format!(
                    "if it is a leftover, delete it ({delete}); if the workspace should take it over, deploy with --force-conflicts"
                ),
                bad_input: false,
            }),
            Change::Blocked(fields) => {
                let fields = fields
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                problems.push(if *kind == maia_kube::kinds::PVC {
                    Problem {
                        check: "volume",
                        message: format!(
                            "{object} would change ({fields}), but a volume claim can only grow once it is created"
                        ),
                        hint: "keep the claim's old settings in the config files; maia never deletes a volume to change it".into(),
                        bad_input: true,
                    }
                } else {
                    Problem {
                        check: "job",
                        message: format!(
                            "{object} would change ({fields}), but a Job's pod template cannot be changed once it is created"
                        ),
                        hint: format!("delete the Job ({delete}) and deploy again: a setup Job is made to run again"),
                        bad_input: false,
                    }
                });
            }
            _ => {}
        }
    }
    problems
}
