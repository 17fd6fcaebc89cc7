//! `maia keycloak plan | sync | status`: the workspace's files to `maia::keycloak`
//! calls, the plan and status to lines or JSON, exit codes as `namespace plan` and
//! `status` have them.

use std::process::ExitCode;

use maia::keycloak;
use maia_keycloak::sync::Status;

use crate::cli::{EventFormat, KeycloakArgs};
use crate::deploy::{Printer, block_on};
use crate::error::Result;
use crate::report;

fn env() -> maia::Env {
    maia::Env {
        keycloak_secret: crate::workspace::keycloak_secret(),
        ..Default::default()
    }
}

fn spec(args: &KeycloakArgs) -> Result<maia_spec::workspace::WorkspaceSpec> {
    Ok(crate::namespace::load(&args.files, args.minimal, args.strictness.into())?.spec)
}

/// `maia keycloak plan`: 0 nothing would change, 1 something would, 2 error.
pub(crate) fn plan(args: &KeycloakArgs) -> ExitCode {
    report::plan_exit((|| {
        let spec = spec(args)?;
        let planned = block_on(keycloak::plan(&spec, &env()))?;
        match args.output {
            EventFormat::Json => println!(
                "{}",
                serde_json::json!({
                    "changes": planned.plan.has_changes(),
                    "plan": planned.plan,
                })
            ),
            EventFormat::Text => print!("{}", maia::text::keycloak_plan(&planned.plan)),
        }
        Ok(planned.plan.has_changes())
    })())
}

/// `maia keycloak sync`.
pub(crate) fn sync(args: &KeycloakArgs) -> Result<()> {
    let spec = spec(args)?;
    let mut printer = Printer::new(args.output, None);
    let (plan, synced) = block_on(keycloak::sync(&spec, &env(), &mut printer))?;
    if args.output == EventFormat::Text {
        if plan.has_changes() {
            println!(
                "keycloak: {} in sync ({} invited, {} added, {} removed)",
                plan.group,
                synced.invited.len(),
                synced.added.len(),
                synced.removed.len()
            );
        } else {
            println!("keycloak: {} already in sync, nothing written", plan.group);
        }
    }
    Ok(())
}

/// `maia keycloak status`: 0 every member active and every client there, 1 not, 2 error.
pub(crate) fn status(args: &KeycloakArgs) -> ExitCode {
    let result = (|| -> Result<Status> {
        let spec = spec(args)?;
        block_on(keycloak::status(&spec, &env()))
    })();
    match result {
        Ok(status) => {
            match args.output {
                EventFormat::Json => crate::output::json(&status),
                EventFormat::Text => print!("{}", maia::text::keycloak_status(&status)),
            }
            let complete =
                status.group_exists && status.members.iter().all(|m| m.state == "active");
            if complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => ExitCode::from(report::error(&e).max(2)),
    }
}
