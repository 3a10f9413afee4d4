//! The HR directory push: plan against what was pushed before, then apply
//! to CloudRoom departments and users and to Aliyun users.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::directory::{self, ApplyOptions, ApplySummary, Targets};
use crate::metrics;

pub struct Directory;

impl Job for Directory {
    fn name(&self) -> &'static str {
        directory::JOB
    }

    fn default_schedule(&self) -> &'static str {
        "0 0 2 * * *"
    }

    /// Counted per section (see [`record_sections`]).
    fn table(&self) -> Option<&'static str> {
        None
    }

    fn is_full(&self, _: &super::RunOptions) -> bool {
        false
    }

    /// The targets `directory.cloudroom` and `directory.aliyun` turn on.
    fn vendors(&self, settings: &super::TenantSettings) -> super::Vendors {
        super::Vendors {
            cloudroom: settings.directory.cloudroom,
            aliyun: settings.directory.aliyun,
        }
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let ctx = run.ctx;
            let targets = Targets::for_settings(
                ctx.settings.directory_config(),
                ctx.cloudroom.as_ref(),
                ctx.aliyun.as_ref(),
            )?;
            let targets = Targets {
                cloudroom: targets
                    .cloudroom
                    .map(|c| c.for_run(run.cancel.clone(), run.calls.clone())),
                aliyun: targets
                    .aliyun
                    .map(|a| a.for_run(run.cancel.clone(), run.calls.clone())),
            };
            let options = ApplyOptions {
                allow_mass_delete: run.options.allow_mass_delete,
            };
            let summary = directory::apply(
                ctx.settings.directory_config(),
                &ctx.pool,
                targets,
                options,
                run.cancel.clone(),
                run.run_id,
            )
            .await?;
            run.totals.rows = summary.totals();
            run.incomplete = incomplete(&summary);
            record_sections(ctx.tenant(), &summary);
            run.report = Some(Box::new(summary));
            Ok(())
        })
    }
}

/// The directory job's report beside its run's totals.
impl super::JobReport for ApplySummary {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn partial(&self) -> bool {
        self.failed()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Objects that failed (retried next run) or a cancelled apply.
fn incomplete(summary: &ApplySummary) -> Option<String> {
    summary.failed().then(|| {
        format!(
            "{} object(s) failed{}",
            summary.failures.len(),
            if summary.cancelled { "; cancelled" } else { "" }
        )
    })
}

fn record_sections(tenant: &str, summary: &ApplySummary) {
    // A section this run left alone stages nothing any more.
    for section in ["cloudroom_departments", "cloudroom_users", "aliyun_users"] {
        metrics::record_staged_deletes(tenant, section, 0);
    }
    for (section, outcomes) in &summary.outcomes {
        for (outcome, n) in [
            ("created", outcomes.created),
            ("updated", outcomes.updated),
            ("deleted", outcomes.deleted),
            ("failed", outcomes.failed),
            ("staged", outcomes.staged),
        ] {
            metrics::record_directory_objects(tenant, section, outcome, n as u64);
        }
        metrics::record_staged_deletes(tenant, section, outcomes.staged as u64);
    }
}
