//! The group form: what a research group asked for (the namespace config of the
//! original `MAIA_deploy_MAIA_namespace --namespace-config-file`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::diag::{Issue, Issues};
use crate::load::ConfigFile;
use crate::loose::{StringOrBool, StringOrNumber, Text};
use crate::names::{DnsLabel, suggest_label};
use crate::path::FieldPath;
use crate::quantity::Quantity;

use super::ResourceLimits;

/// A research group's workspace request. Field names are those of the original toolkit.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "maia group form")]
pub(crate) struct GroupForm {
    /// The group's ID in Keycloak (members are in `MAIA:<group_ID>`). The namespace is
    /// this ID lower-cased with `_` → `-`.
    #[serde(rename = "group_ID")]
    pub group_id: String,
    /// Subdomain of the group's URLs (`<group_subdomain>.<domain>`); defaults to the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_subdomain: Option<String>,
    /// The name the MAIA workspace guide gives `group_subdomain`; use one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_hub_address: Option<String>,
    /// Members' e-mail addresses (their Keycloak user names).
    #[serde(default)]
    pub users: Vec<String>,
    /// Memory and CPU of each member's workspace: `memory: [guarantee, limit]`,
    /// `cpu: [guarantee, limit]`.
    pub resources_limits: ResourceLimitsConfig,
    /// GPUs per member's workspace; leave out when none are needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_request: Option<StringOrNumber>,
    /// Tag of the MAIA workspace image (default: the MAIA config's `maia_workspace_version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maia_workspace_version: Option<VersionText>,
    /// A hub only the group's members may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_hub: Option<StringOrBool>,
    /// An environment file for the members' workspaces: an object in the central MinIO's
    /// bucket (cluster config `minio_url`, keys, `bucket_name`), or a local path. A conda
    /// `environment.yml` (starting `name:`) becomes `CONDA_ENV`, anything else `PIP_ENV`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_env_name: Option<String>,
    /// Written back into the form by the original's manual steps; maia derives it. Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_url: Option<Text>,
    /// Written back into the form by the original's manual steps; maia derives it. Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_console_service: Option<Text>,
    /// Written back into the form by the original's manual steps; maia keeps its own
    /// keys in `credentials.yaml`. Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_access_key: Option<Text>,
    /// As `minio_access_key`. Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_secret_key: Option<Text>,
    /// Written back into the form by the original's manual steps; maia derives it. Ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_service: Option<Text>,
    /// What the whole namespace may use at most (a ResourceQuota). Each resource left
    /// out is computed from what maia renders, so the workspace always fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaConfig>,
}

/// The group form's `quota`: totals over every pod and volume claim of the namespace.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotaConfig {
    /// CPUs requested by all pods together, e.g. `32` or `"32000m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<StringOrNumber>,
    /// Memory requested by all pods together, e.g. `"256Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<StringOrNumber>,
    /// GPUs (`nvidia.com/gpu`) requested by all pods together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<StringOrNumber>,
    /// Storage requested by all volume claims together, e.g. `"2Ti"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StringOrNumber>,
    /// The number of volume claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvcs: Option<StringOrNumber>,
}

impl ConfigFile for GroupForm {
    const KIND: &'static str = "group form";
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ResourceLimitsConfig {
    /// `[guarantee, limit]` as Kubernetes quantities, e.g. `["4G", "8G"]`.
    pub memory: Vec<StringOrNumber>,
    /// `[guarantee, limit]` in CPUs, e.g. `[2.0, 4.0]` (or quantities such as `"500m"`).
    pub cpu: Vec<StringOrNumber>,
}

/// A version written as a string or a bare number. Unlike [`StringOrNumber`] it keeps
/// `2.0` as `2.0` (the form's `maia_workspace_version: 2.0` names the image tag `2.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionText(pub(crate) String);

impl<'de> Deserialize<'de> for VersionText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = VersionText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version such as \"2.0\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<VersionText, E> {
                // `{:?}` keeps the `.0` that Display drops.
                Ok(VersionText(format!("{v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for VersionText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl JsonSchema for VersionText {
    fn schema_name() -> Cow<'static, str> {
        "VersionText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number"]})
    }
}

/// The group form, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub group_id: String,
    pub namespace: DnsLabel,
    pub subdomain: DnsLabel,
    pub users: Vec<String>,
    pub resources: ResourceLimits,
    pub gpus: Option<u32>,
    pub workspace_version: Option<String>,
    pub private_hub: bool,
    pub minio_env_name: Option<String>,
    pub quota: super::QuotaRequest,
}

/// `true` when `s` looks like an e-mail address (`local@domain.tld`, no spaces).
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Checks a list of e-mails (`users`, `admins`): each an e-mail, none twice.
pub(crate) fn check_emails(issues: &mut Issues, path: &FieldPath, list: &[String]) {
    for (i, user) in list.iter().enumerate() {
        if !is_email(user) {
            issues
                .error(path.index(i), format!("{user:?} is not an e-mail address"))
                .set_hint("members are listed by the e-mail they log in to Keycloak with, e.g. alice@example.org");
        } else if list[..i].iter().any(|u| u.eq_ignore_ascii_case(user)) {
            issues
                .error(path.index(i), format!("{user:?} is listed twice"))
                .set_hint("remove the duplicate");
        } else if user.chars().any(|c| c.is_uppercase()) {
            // Keycloak and JupyterHub lower-case user names: the member is the
            // lower-case address (the spec holds it so), which is theirs all the same.
            issues
                .warning(
                    path.index(i),
                    format!(
                        "{user:?} has upper-case letters: the member is {:?}, as Keycloak and JupyterHub write it",
                        user.to_lowercase()
                    ),
                )
                .set_hint("write it in lower case to silence this warning");
        }
    }
}

/// An environment file's name: an object key or path without white space, control
/// characters or `..` components, and not absolute (a local file must lie in the group
/// form's folder: its content goes into every member's environment).
fn check_env_name(name: &str) -> Result<(), String> {
    if name.starts_with('/') {
        return Err(format!(
            "{name:?} is an absolute path: a local environment file must be in the group form's folder"
        ));
    }
    if name.len() > 512 {
        return Err(format!("{name:?} is longer than 512 characters"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{name:?} contains white space or control characters"
        ));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(format!("{name:?} contains a \"..\" component"));
    }
    Ok(())
}

/// Each member's Services are named after [`member_name`](super::member_name), which
/// is valid for every e-mail; two members must not share one. Escaped e-mails are
/// distinct and a shortened name is never an escaped one, so only two shortened names
/// with the same start and hash could meet: checked rather than assumed.
fn check_member_names(issues: &mut Issues, path: &FieldPath, users: &[String]) {
    let mut seen: std::collections::BTreeMap<String, &str> = Default::default();
    for (i, user) in users.iter().enumerate() {
        if !is_email(user) {
            continue; // reported by check_emails
        }
        let lower = user.to_lowercase();
        let name = super::member_name(&lower);
        match seen.get(&name) {
            Some(other) if !other.eq_ignore_ascii_case(user) => {
                issues
                    .error(
                        path.index(i),
                        format!("{user:?} and {other:?} would share the name {name:?} on the cluster"),
                    )
                    .set_hint("this should not happen: please report it to maia's developers with both addresses");
            }
            _ => {
                seen.insert(name, user);
            }
        }
    }
}

fn pair(
    issues: &mut Issues,
    path: FieldPath,
    values: &[StringOrNumber],
    example: &str,
) -> Option<(String, String)> {
    match values {
        [guarantee, limit] => Some((guarantee.text.clone(), limit.text.clone())),
        _ => {
            issues
                .error(
                    path,
                    format!("expected [guarantee, limit], found {} values", values.len()),
                )
                .set_hint(format!("write e.g. {example}"));
            None
        }
    }
}

/// CPUs as a number: `2`, `1.5`, or the quantity `500m`.
fn cpus(text: &str) -> Option<f64> {
    let text = text.trim();
    let value = match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok()? / 1000.0,
        None => text.parse::<f64>().ok()?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

/// Checks a group form. The result is `Some` when no issue is an error.
pub(crate) fn check(form: &GroupForm) -> (Option<Group>, Vec<Issue>) {
    let root = FieldPath::root();
    let mut issues = Issues::default();

    let derived = suggest_label(&form.group_id);
    let namespace = if form.group_id.trim().is_empty() {
        issues
            .error(root.key("group_ID"), "the group ID is empty")
            .set_hint(
                "write the group's Keycloak ID, e.g. Brain_MRI (members are in MAIA:Brain_MRI)",
            );
        None
    } else {
        match derived.parse::<DnsLabel>() {
            Ok(ns) if crate::names::is_reserved_for_workspaces(ns.as_str()) => {
                issues
                    .error(
                        root.key("group_ID"),
                        format!(
                            "{:?} gives the namespace {ns}, which is reserved for the cluster",
                            form.group_id
                        ),
                    )
                    .set_hint("choose another group ID (kube-*, default, kubeflow, maia-system and the operators' namespaces are taken)");
                None
            }
            // helm refuses a release name over 53 characters, at install time: after
            // the namespace and half the workspace were deployed.
            Ok(ns)
                if crate::names::hub_release(ns.as_str()).len()
                    > crate::names::HELM_RELEASE_MAX =>
            {
                let release = crate::names::hub_release(ns.as_str());
                issues
                    .error(
                        root.key("group_ID"),
                        format!(
                            "{:?} gives the namespace {ns}, whose JupyterHub helm release {release:?} is {} characters; helm allows at most {}",
                            form.group_id,
                            release.len(),
                            crate::names::HELM_RELEASE_MAX
                        ),
                    )
                    .set_hint(format!(
                        "use a group ID of at most {} characters",
                        crate::names::HELM_RELEASE_MAX - crate::names::hub_release("").len()
                    ));
                None
            }
            Ok(ns) => Some(ns),
            Err(e) => {
                issues
                    .error(
                        root.key("group_ID"),
                        format!(
                            "{:?} does not give a valid namespace: {}",
                            form.group_id, e.message
                        ),
                    )
                    .set_hint("the namespace is the group ID lower-cased with '_' → '-'; use letters, digits, '-' and '_', at most 63");
                None
            }
        }
    };

    // The template's `group_subdomain: ""` means "the default".
    let blank = |o: &Option<String>| o.clone().filter(|v| !v.trim().is_empty());
    let subdomain = match (
        blank(&form.group_subdomain),
        blank(&form.namespace_hub_address),
    ) {
        (Some(_), Some(_)) => {
            issues
                .error(
                    root.key("namespace_hub_address"),
                    "both group_subdomain and namespace_hub_address are given",
                )
                .set_hint("they are two names for the same setting; keep group_subdomain");
            None
        }
        (Some(s), None) => issues.check(&root.key("group_subdomain"), s.parse::<DnsLabel>()),
        (None, Some(s)) => issues.check(&root.key("namespace_hub_address"), s.parse::<DnsLabel>()),
        (None, None) => namespace.clone(),
    };

    if form.users.is_empty() {
        issues
            .warning(root.key("users"), "no users: the hub will have no members")
            .set_hint("list the members' e-mail addresses");
    }
    check_emails(&mut issues, &root.key("users"), &form.users);
    check_member_names(&mut issues, &root.key("users"), &form.users);

    let limits = root.key("resources_limits");
    let memory = pair(
        &mut issues,
        limits.key("memory"),
        &form.resources_limits.memory,
        "[\"4G\", \"8G\"]",
    );
    let memory = memory.and_then(|(g, l)| {
        let g = issues.check(&limits.key("memory").index(0), g.parse::<Quantity>());
        let l = issues.check(&limits.key("memory").index(1), l.parse::<Quantity>());
        let (g, l) = (g?, l?);
        // The API server refuses a request above its limit, at the first member's pod.
        if g.nanos() > l.nanos() {
            issues
                .error(
                    limits.key("memory"),
                    format!("the memory guarantee {g} is above the limit {l}"),
                )
                .set_hint("write [guarantee, limit] with guarantee ≤ limit (1Gi = 1.074G: units of 1024 are larger than those of 1000)");
        }
        Some((g, l))
    });
    let cpu = pair(
        &mut issues,
        limits.key("cpu"),
        &form.resources_limits.cpu,
        "[2.0, 4.0]",
    );
    let cpu = cpu.and_then(|(g, l)| {
        let mut parse = |i: usize, text: &str| {
            let v = cpus(text);
            if v.is_none() {
                issues
                    .error(
                        limits.key("cpu").index(i),
                        format!("{text:?} is not a number of CPUs"),
                    )
                    .set_hint("write a positive number such as 2, 0.5 or \"500m\"");
            }
            v
        };
        let (g, l) = (parse(0, &g), parse(1, &l));
        let (g, l) = (g?, l?);
        if g > l {
            issues
                .error(
                    limits.key("cpu"),
                    format!("the CPU guarantee {g} is above the limit {l}"),
                )
                .set_hint("write [guarantee, limit] with guarantee ≤ limit");
        }
        Some((g, l))
    });

    let gpus = form.gpu_request.as_ref().and_then(|g| {
        match g.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(0) => None,
            Some(n) => Some(n),
            None => {
                issues
                    .error(
                        root.key("gpu_request"),
                        format!("{} is not a number of GPUs", g.shown()),
                    )
                    .set_hint("write a whole number such as 1, or leave gpu_request out");
                None
            }
        }
    });

    let workspace_version = form.maia_workspace_version.as_ref().map(|v| v.0.clone());
    if let Some(v) = &workspace_version
        && let Err(e) = crate::names::check_image_tag(v)
    {
        issues
            .error(root.key("maia_workspace_version"), e)
            .set_hint("write the tag of the MAIA workspace image, e.g. \"2.0\"");
    }

    let private_hub = match &form.private_hub {
        None => false,
        Some(b) => b.parse().unwrap_or_else(|| {
            issues
                .error(
                    root.key("private_hub"),
                    format!("{} is not a boolean", b.shown()),
                )
                .set_hint("write true or false");
            false
        }),
    };
    if let Some(name) = blank(&form.minio_env_name)
        && let Err(e) = check_env_name(&name)
    {
        issues
            .error(root.key("minio_env_name"), e)
            .set_hint("name the environment file in the central MinIO's bucket (e.g. envs/brain-mri.yml), or give a path relative to the group form's folder");
    }
    for (field, set) in [
        ("oauth_url", form.oauth_url.is_some()),
        (
            "minio_console_service",
            form.minio_console_service.is_some(),
        ),
        ("minio_access_key", form.minio_access_key.is_some()),
        ("minio_secret_key", form.minio_secret_key.is_some()),
        ("mlflow_service", form.mlflow_service.is_some()),
    ] {
        if set {
            issues
                .warning(
                    root.key(field),
                    "ignored: maia derives this itself (the original's manual steps wrote it back into the form)",
                )
                .set_hint("you may remove it");
        }
    }

    let quota = form
        .quota
        .as_ref()
        .map(|q| check_quota(&mut issues, &root.key("quota"), q))
        .unwrap_or_default();

    if issues.has_errors() {
        return (None, issues.0);
    }
    let (Some(namespace), Some(subdomain), Some((mg, ml)), Some((cg, cl))) =
        (namespace, subdomain, memory, cpu)
    else {
        return (None, issues.0);
    };
    let group = Group {
        group_id: form.group_id.clone(),
        namespace,
        subdomain,
        // The member is the lower-case address (see check_emails).
        users: form.users.iter().map(|u| u.to_lowercase()).collect(),
        resources: ResourceLimits {
            memory_guarantee: mg,
            memory_limit: ml,
            cpu_guarantee: cg,
            cpu_limit: cl,
        },
        gpus,
        workspace_version,
        private_hub,
        minio_env_name: blank(&form.minio_env_name),
        quota,
    };
    (Some(group), issues.0)
}

/// The form's `quota`: quantities for CPU, memory and storage, whole numbers for GPUs
/// and claims.
fn check_quota(issues: &mut Issues, path: &FieldPath, q: &QuotaConfig) -> super::QuotaRequest {
    let mut quantity = |field: &str, value: &Option<StringOrNumber>| {
        let v = value.as_ref()?;
        let parsed = issues.check(&path.key(field), v.text.parse::<Quantity>());
        if parsed.as_ref().is_some_and(|p| p.nanos() == 0) {
            issues
                .error(
                    path.key(field),
                    format!("quota.{field} is 0: nothing could start"),
                )
                .set_hint(format!(
                    "write a positive amount, or leave quota.{field} out for the computed default"
                ));
        }
        parsed
    };
    let cpu = quantity("cpu", &q.cpu);
    let memory = quantity("memory", &q.memory);
    let storage = quantity("storage", &q.storage);
    let mut count = |field: &str, value: &Option<StringOrNumber>| {
        let v = value.as_ref()?;
        match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                issues
                    .error(
                        path.key(field),
                        format!("{} is not a whole number", v.shown()),
                    )
                    .set_hint(format!(
                        "write e.g. 4, or leave quota.{field} out for the computed default"
                    ));
                None
            }
        }
    };
    super::QuotaRequest {
        cpu,
        memory,
        gpu: count("gpu", &q.gpu),
        storage,
        pvcs: count("pvcs", &q.pvcs),
    }
}
