//! The engine's events as lines, and what each one changed on the cluster.

use maia_deploy::{Event, Outcome};

/// What `event` changed on the cluster, as a failure's report lists it ("changed before
/// the failure: …"); `None` for an event that changed nothing.
pub fn changed(event: &Event) -> Option<String> {
    match event {
        Event::Applied {
            object, outcome, ..
        } if *outcome != Outcome::Unchanged => Some(object.to_string()),
        Event::Pruned { object, .. } => Some(format!("{object} (deleted)")),
        Event::NamespaceCreated { namespace, .. } => Some(format!("namespace/{namespace}")),
        Event::Helm {
            release, outcome, ..
        } if outcome != "unchanged" && outcome != "skipped" => {
            Some(format!("helm release {release} ({outcome})"))
        }
        Event::Kustomization { url, .. } => Some(format!("kustomization {url}")),
        _ => None,
    }
}

/// Whether `event` says something stayed as it was (left out with `-q`).
pub fn unchanged(event: &Event) -> bool {
    match event {
        Event::Applied { outcome, .. } => *outcome == Outcome::Unchanged,
        Event::Helm { outcome, .. } => outcome == "unchanged",
        _ => false,
    }
}

/// The line a person reads for `event`. `removed` is the word for an object taken away:
/// "pruned" during a deploy, "deleted" by a delete.
pub fn event_line(event: &Event, removed: &str) -> String {
    let dry = |d: &bool| if *d { " (dry run)" } else { "" };
    match event {
        Event::NamespaceCreated { namespace, dry_run } => {
            format!("namespace/{namespace} created{}", dry(dry_run))
        }
        Event::Applied {
            object,
            outcome,
            dry_run,
        } => format!("{object} {}{}", outcome.as_str(), dry(dry_run)),
        Event::Pruned { object, dry_run } => format!("{object} {removed}{}", dry(dry_run)),
        Event::VolumeKept { object } => format!(
            "{object} kept: the config no longer has it, but volumes are never deleted by deploy \
             (kubectl delete pvc {} -n {} removes it and its data)",
            object.name, object.namespace
        ),
        Event::Waiting { object, reason } => format!("{object} waiting: {reason}"),
        Event::Ready { object } => format!("{object} ready"),
        Event::Running { step } => format!("running {step}"),
        Event::Failed { object, reason } => format!("{object} failed: {reason}"),
        Event::Helm {
            release, outcome, ..
        } => format!("helm release {release} {outcome}"),
        Event::Kustomization { url, outcome } => format!("kustomization {url} {outcome}"),
        Event::ComponentReady { component } => format!("component {component} ready"),
        Event::ComponentFailed { component, reason } => {
            format!("component {component} failed: {reason}")
        }
        Event::Notice { message } => format!("note: {message}"),
    }
}
