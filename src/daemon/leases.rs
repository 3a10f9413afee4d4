//! The sweep that keeps leases honest: every third of a lease, each daemon
//! looks for runs of its tenants whose heartbeat stopped longer than a lease
//! ago, and continues them (a daemon died mid-run) or marks them abandoned
//! (nobody would continue them). See docs/ARCHITECTURE.md, "Scale-out".

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::runner::JobRunner;
use crate::store::sync_runs;

/// The runners of this daemon by (tenant, job).
type Runners = HashMap<(String, &'static str), Arc<JobRunner>>;

pub fn spawn_sweeper(
    pool: PgPool,
    runners: Vec<Arc<JobRunner>>,
    lease: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let runners: Runners = runners
        .into_iter()
        .map(|r| ((r.tenant().to_string(), r.job().name()), r))
        .collect();
    let mut tenants: Vec<String> = runners.keys().map(|(t, _)| t.clone()).collect();
    tenants.sort();
    tenants.dedup();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(lease / 3);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = sweep(&pool, &runners, &tenants, lease).await {
                tracing::warn!(error = %crate::causes::Chain(&e), "cannot look for runs whose lease expired");
            }
        }
    })
}

async fn sweep(
    pool: &PgPool,
    runners: &Runners,
    tenants: &[String],
    lease: Duration,
) -> Result<(), crate::store::StoreError> {
    for run in sync_runs::stale_runs(pool, tenants, lease).await? {
        let Some(runner) = runners.get(&(run.tenant.clone(), job_name(&run.job))) else {
            continue;
        };
        if run.resumable {
            runner.take_over(run.id, run.scheduled_for);
        } else {
            runner.clear_stale();
        }
    }
    Ok(())
}

/// The registered name of `job` (a run of a job this build does not know
/// matches no runner).
fn job_name(job: &str) -> &'static str {
    crate::jobs::find(job).map_or("", |j| j.name())
}
