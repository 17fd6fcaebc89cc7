//! Checks on the rendered workspace, made before the first write: its hosts are not
//! served by another namespace, and the helm releases it would upgrade are of its own
//! charts. Each finding is a preflight [`Problem`], so all are reported at once.

use maia_render::workspace::{Bundle, HelmRelease};
use maia_spec::workspace::{UrlType, WorkspaceSpec};
use serde_json::Value;

use crate::error::Result;
use crate::tools::Helm;
use maia_kube::cluster::Cluster;
use maia_kube::ownership::{Route, hosts_taken, list_ingresses, object_routes};

use crate::error::Problem;

/// Every problem with what the workspace would take from others, and every Ingress
/// of the cluster as listed for the hosts check (`None` when not listed: no route, or
/// the LIST was refused), which a plan made without a write since may reuse.
pub(crate) async fn problems(
    cluster: &Cluster,
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    helm: Option<&Helm>,
) -> Result<(Vec<Problem>, Option<Vec<Value>>)> {
    let namespace = spec.namespace.as_str();
    // Subpath groups share the cluster's domain by design, each under its prefixes.
    let shared = match spec.cluster.url_type {
        UrlType::Subpath => Some(spec.cluster.domain.to_ascii_lowercase()),
        UrlType::Subdomain => None,
    };
    let mut problems = Vec::new();
    let objects: Vec<_> = bundle.objects().cloned().collect();
    let mut routes = object_routes(&objects);
    let releases: Vec<&HelmRelease> = bundle.components.iter().flat_map(|c| &c.helm).collect();
    routes.extend(releases.iter().flat_map(|r| helm_routes(r)));
    routes.sort();
    routes.dedup();
    let ingresses = if routes.is_empty() {
        None
    } else {
        list_ingresses(cluster).await?
    };
    let taken = ingresses
        .as_deref()
        .map(|live| hosts_taken(live, namespace, &routes, shared.as_deref()))
        .unwrap_or_default();
    for taken in taken {
        problems.push(Problem {
            check: "host",
            message: taken,
            hint: "another namespace's Ingress would share this group's requests (and logins): remove or move that Ingress, or give the group another group_subdomain".into(),
            bad_input: true,
        });
    }
    if let Some(helm) = helm
        && !releases.is_empty()
    {
        let deployed = helm.list(namespace).await?;
        for release in releases {
            let Some(found) = deployed.iter().find(|d| d.name == release.release) else {
                continue;
            };
            if found.chart != release.chart {
                problems.push(Problem {
                    check: "helm-release",
                    message: format!(
                        "helm release {} in namespace {namespace} is of chart {} {}, not {}: upgrading it would replace it, and helm would remove what that chart made",
                        release.release, found.chart, found.version, release.chart
                    ),
                    hint: format!(
                        "if it is not needed, uninstall it (`helm uninstall {} -n {namespace}`) and deploy again; else give the group another namespace",
                        release.release
                    ),
                    bad_input: true,
                });
            }
        }
    }
    Ok((problems, ingresses))
}

/// The hosts and paths a chart's Ingress serves, as maia's values set them: `ingress`
/// (`hosts`, with `path`, else JupyterHub's `hub.baseUrl`) or Label Studio's
/// `app.ingress` (`host`, `path`).
fn helm_routes(release: &HelmRelease) -> Vec<Route> {
    let values = &release.values;
    let mut out = Vec::new();
    for ingress in [&values["ingress"], &values["app"]["ingress"]] {
        if ingress["enabled"] != Value::Bool(true) {
            continue;
        }
        let path = ingress["path"]
            .as_str()
            .or_else(|| values["hub"]["baseUrl"].as_str())
            .unwrap_or("/");
        let hosts = ingress["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&ingress["host"]))
            .filter_map(Value::as_str);
        for host in hosts {
            out.push(Route {
                host: host.to_ascii_lowercase(),
                path: path.to_string(),
            });
        }
    }
    out
}
