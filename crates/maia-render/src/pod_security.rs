//! The Pod Security Standards checks (Kubernetes 1.33), applied to rendered pod
//! specs, so a workspace namespace can enforce the strictest level its own pods pass.
//!
//! Each check follows the published standard: `baseline` stops the known privilege
//! escalations (privileged containers, host namespaces, host paths and ports, added
//! capabilities, unsafe sysctls, unconfined seccomp or AppArmor, custom SELinux users);
//! `restricted` also wants non-root users, no privilege escalation, every capability
//! dropped, a seccomp profile and only the ephemeral or claim-backed volume types.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, PodSecurityContext, PodSpec, SELinuxOptions, SeccompProfile,
    SecurityContext, Volume,
};

/// A Pod Security Standards level, from the most to the least permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No restriction at all.
    Privileged,
    /// Stops the known privilege escalations.
    Baseline,
    /// Current hardening best practice.
    Restricted,
}

impl Level {
    /// The value of a `pod-security.kubernetes.io/*` namespace label.
    pub fn label(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// Capabilities `baseline` lets a container add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Sysctls `baseline` allows.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// SELinux types `baseline` allows (besides none).
const SELINUX_TYPES: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Volume types `restricted` allows.
fn restricted_volume(volume: &Volume) -> bool {
    volume.config_map.is_some()
        || volume.csi.is_some()
        || volume.downward_api.is_some()
        || volume.empty_dir.is_some()
        || volume.ephemeral.is_some()
        || volume.persistent_volume_claim.is_some()
        || volume.projected.is_some()
        || volume.secret.is_some()
}

/// Every container of the pod with its name: init, regular and ephemeral, each with
/// its security context.
fn containers(spec: &PodSpec) -> Vec<(&str, Option<&SecurityContext>, &Container)> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| (c.name.as_str(), c.security_context.as_ref(), c))
        .collect()
}

/// Why the pod fails `level`; empty when it passes.
pub fn violations(spec: &PodSpec, level: Level) -> Vec<String> {
    let mut out = Vec::new();
    if level >= Level::Baseline {
        baseline(spec, &mut out);
    }
    if level >= Level::Restricted {
        restricted(spec, &mut out);
    }
    out
}

/// The strictest level the pod passes.
pub fn strictest(spec: &PodSpec) -> Level {
    [Level::Restricted, Level::Baseline]
        .into_iter()
        .find(|level| violations(spec, *level).is_empty())
        .unwrap_or(Level::Privileged)
}

fn baseline(spec: &PodSpec, out: &mut Vec<String>) {
    let pod = spec.security_context.as_ref();
    for (flag, name) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if flag == Some(true) {
            out.push(format!("{name} is true"));
        }
    }
    if pod
        .and_then(|p| p.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true)
    {
        out.push("the pod is a Windows host process".into());
    }
    for volume in spec.volumes.iter().flatten() {
        if volume.host_path.is_some() {
            out.push(format!("volume {} is a hostPath", volume.name));
        }
    }
    if let Some(p) = pod {
        if seccomp_unconfined(p.seccomp_profile.as_ref()) {
            out.push("the pod's seccomp profile is Unconfined".into());
        }
        if let Some(reason) = selinux_forbidden(p.se_linux_options.as_ref()) {
            out.push(format!("the pod's SELinux options {reason}"));
        }
        if p.app_armor_profile.as_ref().map(|a| a.type_.as_str()) == Some("Unconfined") {
            out.push("the pod's AppArmor profile is Unconfined".into());
        }
        for sysctl in p.sysctls.iter().flatten() {
            if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
                out.push(format!("sysctl {} is not a safe sysctl", sysctl.name));
            }
        }
    }
    for (name, context, container) in containers(spec) {
        for port in container.ports.iter().flatten() {
            if port.host_port.is_some_and(|p| p != 0) {
                out.push(format!(
                    "container {name} uses hostPort {:?}",
                    port.host_port
                ));
            }
        }
        let Some(c) = context else { continue };
        if c.privileged == Some(true) {
            out.push(format!("container {name} is privileged"));
        }
        if c.windows_options.as_ref().and_then(|w| w.host_process) == Some(true) {
            out.push(format!("container {name} is a Windows host process"));
        }
        for added in added_capabilities(c.capabilities.as_ref()) {
            if !BASELINE_CAPABILITIES.contains(&added) {
                out.push(format!("container {name} adds capability {added}"));
            }
        }
        if seccomp_unconfined(c.seccomp_profile.as_ref()) {
            out.push(format!("container {name}'s seccomp profile is Unconfined"));
        }
        if let Some(reason) = selinux_forbidden(c.se_linux_options.as_ref()) {
            out.push(format!("container {name}'s SELinux options {reason}"));
        }
        if c.app_armor_profile.as_ref().map(|a| a.type_.as_str()) == Some("Unconfined") {
            out.push(format!("container {name}'s AppArmor profile is Unconfined"));
        }
        if c.proc_mount.as_deref().is_some_and(|m| m != "Default") {
            out.push(format!("container {name} mounts /proc unmasked"));
        }
    }
}

fn restricted(spec: &PodSpec, out: &mut Vec<String>) {
    let pod: Option<&PodSecurityContext> = spec.security_context.as_ref();
    for volume in spec.volumes.iter().flatten() {
        if volume.host_path.is_none() && !restricted_volume(volume) {
            out.push(format!(
                "volume {} is of a type restricted forbids",
                volume.name
            ));
        }
    }
    let pod_non_root = pod.and_then(|p| p.run_as_non_root) == Some(true);
    let pod_seccomp = pod.and_then(|p| p.seccomp_profile.as_ref());
    if pod.and_then(|p| p.run_as_user) == Some(0) {
        out.push("the pod runs as user 0".into());
    }
    for (name, context, _) in containers(spec) {
        let c = context.cloned().unwrap_or_default();
        if c.allow_privilege_escalation != Some(false) {
            out.push(format!(
                "container {name} does not set allowPrivilegeEscalation: false"
            ));
        }
        match c.run_as_non_root {
            Some(false) => out.push(format!("container {name} sets runAsNonRoot: false")),
            None if !pod_non_root => out.push(format!(
                "container {name} does not set runAsNonRoot: true (nor does the pod)"
            )),
            _ => {}
        }
        if c.run_as_user == Some(0) {
            out.push(format!("container {name} runs as user 0"));
        }
        let seccomp = c.seccomp_profile.as_ref().or(pod_seccomp);
        if !seccomp.is_some_and(|s| s.type_ == "RuntimeDefault" || s.type_ == "Localhost") {
            out.push(format!(
                "container {name} has no RuntimeDefault or Localhost seccomp profile"
            ));
        }
        let drops_all = c
            .capabilities
            .as_ref()
            .and_then(|caps| caps.drop.as_ref())
            .is_some_and(|d| d.iter().any(|x| x == "ALL"));
        if !drops_all {
            out.push(format!("container {name} does not drop ALL capabilities"));
        }
        for added in added_capabilities(c.capabilities.as_ref()) {
            if added != "NET_BIND_SERVICE" {
                out.push(format!("container {name} adds capability {added}"));
            }
        }
    }
}

fn added_capabilities(caps: Option<&Capabilities>) -> impl Iterator<Item = &str> {
    caps.and_then(|c| c.add.as_ref())
        .into_iter()
        .flatten()
        .map(String::as_str)
}

fn seccomp_unconfined(profile: Option<&SeccompProfile>) -> bool {
    profile.is_some_and(|p| p.type_ == "Unconfined")
}

fn selinux_forbidden(options: Option<&SELinuxOptions>) -> Option<&'static str> {
    let o = options?;
    if o.type_
        .as_deref()
        .is_some_and(|t| !t.is_empty() && !SELINUX_TYPES.contains(&t))
    {
        return Some("set a type baseline forbids");
    }
    if o.user.as_deref().is_some_and(|u| !u.is_empty())
        || o.role.as_deref().is_some_and(|r| !r.is_empty())
    {
        return Some("set a user or role");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> PodSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_plain_container_is_baseline_but_not_restricted() {
        let spec = pod(json!({"containers": [{"name": "app", "image": "x"}]}));
        assert_eq!(strictest(&spec), Level::Baseline);
        let why = violations(&spec, Level::Restricted);
        assert!(
            why.iter().any(|w| w.contains("allowPrivilegeEscalation")),
            "{why:?}"
        );
        assert!(why.iter().any(|w| w.contains("drop ALL")), "{why:?}");
    }

    #[test]
    fn a_hardened_container_is_restricted() {
        let spec = pod(json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}],
            "containers": [{"name": "app", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]}));
        assert_eq!(violations(&spec, Level::Restricted), Vec::<String>::new());
        assert_eq!(strictest(&spec), Level::Restricted);
    }

    #[test]
    fn each_baseline_escalation_is_named() {
        let cases = [
            (json!({"hostNetwork": true}), "hostNetwork"),
            (json!({"hostPID": true}), "hostPID"),
            (
                json!({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
                "hostPath",
            ),
            (
                json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
                "Unconfined",
            ),
            (
                json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}),
                "kernel.msgmax",
            ),
        ];
        for (extra, word) in cases {
            let mut value = json!({"containers": [{"name": "app", "image": "x"}]});
            for (k, v) in extra.as_object().unwrap() {
                value[k] = v.clone();
            }
            let spec = pod(value);
            assert_eq!(strictest(&spec), Level::Privileged, "{word}");
            let why = violations(&spec, Level::Baseline).join("; ");
            assert!(why.contains(word), "{word}: {why}");
        }
        let container_cases = [
            (json!({"privileged": true}), "privileged"),
            (json!({"capabilities": {"add": ["SYS_ADMIN"]}}), "SYS_ADMIN"),
            (json!({"procMount": "Unmasked"}), "/proc"),
            (json!({"seLinuxOptions": {"user": "root"}}), "SELinux"),
        ];
        for (context, word) in container_cases {
            let spec = pod(json!({"containers": [
                {"name": "app", "image": "x", "securityContext": context}]}));
            let why = violations(&spec, Level::Baseline).join("; ");
            assert!(why.contains(word), "{word}: {why}");
        }
        let ports = pod(json!({"containers": [{"name": "app", "image": "x",
            "ports": [{"containerPort": 22, "hostPort": 2222}]}]}));
        assert!(violations(&ports, Level::Baseline)[0].contains("hostPort"));
    }

    #[test]
    fn restricted_forbids_root_and_other_volume_types() {
        let spec = pod(json!({
            "securityContext": {"runAsNonRoot": true, "runAsUser": 0,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "nfs", "nfs": {"server": "s", "path": "/"}}],
            "containers": [{"name": "app", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}));
        let why = violations(&spec, Level::Restricted).join("; ");
        assert!(why.contains("user 0"), "{why}");
        assert!(why.contains("volume nfs"), "{why}");
        assert_eq!(strictest(&spec), Level::Baseline);
    }
}
