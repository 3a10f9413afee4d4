//! Aliyun attendance (ListMembers) of the registered meetings.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::attendance::{self, AttendanceContext};

pub struct Attendance;

impl Job for Attendance {
    fn name(&self) -> &'static str {
        "attendance"
    }

    /// Often enough to see who comes and goes; a run with no meeting due
    /// makes no call.
    fn default_schedule(&self) -> &'static str {
        "0 */5 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("aliyun.meeting_members")
    }

    /// Aliyun's keys only once meetings are registered; the run says so then.
    fn vendors(&self, _settings: &super::TenantSettings) -> super::Vendors {
        super::Vendors::default()
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let settings = &run.ctx.settings;
            let ctx = AttendanceContext {
                pool: run.ctx.pool.clone(),
                tenant: run.ctx.tenant().to_string(),
                client: run
                    .ctx
                    .aliyun
                    .as_ref()
                    .map(|a| a.clone().for_run(run.cancel.clone(), run.calls.clone())),
                meetings_query: settings
                    .aliyun
                    .meetings_query()
                    .map_err(anyhow::Error::msg)?
                    .map(str::to_string),
                window: settings.aliyun.attendance_window(),
                timezone: settings.cloudroom.tz(),
                cancel: run.cancel.clone(),
            };
            attendance::run(&ctx, &mut run.totals).await
        })
    }
}
