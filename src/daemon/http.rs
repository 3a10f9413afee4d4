//! The probes and `/metrics` on `http.listen`: `/livez` (the process
//! answers), `/readyz` (and the database does), `/healthz` (and no enabled
//! job of any tenant has failed `health.max_consecutive_failures` times in
//! a row, and no run is stuck; the answer names the tenants that fail and
//! the stuck runs).
//!
//! A run is stuck when it has run longer than `health.stuck_run_after_seconds`
//! and than [`STUCK_FACTOR`] times the longest of its job's last 20
//! successful runs: a job's own history says what "far longer than usual"
//! is, and the floor keeps a first run or a rare long backfill from
//! alarming. `confsync_run_stuck_seconds` says the same to Prometheus.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::sync_runs::{self, JobRecord};

/// How many times its usual length a run may take before it is stuck.
pub const STUCK_FACTOR: f64 = 4.0;

/// A database that does not answer within this is reported unreachable.
const DB_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct HealthState {
    pub pool: PgPool,
    /// The enabled (tenant, job) pairs: a job switched off does not make the
    /// daemon unhealthy.
    pub jobs: Vec<(String, &'static str)>,
    pub max_consecutive_failures: u32,
    /// The floor of the stuck-run rule.
    pub stuck_after: Duration,
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    failing_tenants: Vec<String>,
    stuck_runs: Vec<sync_runs::StuckRun>,
    /// Records waiting in `confsync.quarantine`, per tenant (the runs
    /// that set them aside succeeded; a person may look at them).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    quarantined: std::collections::BTreeMap<String, i64>,
    jobs: Vec<JobHealth>,
}

#[derive(Debug, Serialize)]
struct JobHealth {
    tenant: String,
    job: String,
    consecutive_failures: i64,
    last_status: Option<String>,
    last_success_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The HTTP server, serving until `stop` is cancelled.
pub struct HttpServer {
    pub addr: SocketAddr,
    pub handle: JoinHandle<()>,
}

pub async fn serve(
    listen: &str,
    state: HealthState,
    stop: CancellationToken,
) -> anyhow::Result<HttpServer> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on http.listen = {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let app = router(state);
    let handle = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = served.await {
            tracing::error!(error = %e, "the HTTP listener stopped");
        }
    });
    Ok(HttpServer { addr, handle })
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn livez() -> &'static str {
    "ok\n"
}

/// 200 when the database answers within [`DB_TIMEOUT`], else 503 with why.
async fn readyz(State(state): State<HealthState>) -> (StatusCode, String) {
    let ping = crate::store::ping(&state.pool);
    match tokio::time::timeout(DB_TIMEOUT, ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n".into()),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {}\n", crate::causes::Chain(&e)),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "database did not answer within {} s\n",
                DB_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn healthz(State(state): State<HealthState>) -> impl IntoResponse {
    let health = check(&state).await;
    let code = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health))
}

async fn check(state: &HealthState) -> Health {
    let records =
        tokio::time::timeout(DB_TIMEOUT, sync_runs::job_records(&state.pool, &state.jobs)).await;
    let records = match records {
        Ok(Ok(records)) => records,
        Ok(Err(e)) => {
            let cause = crate::causes::Chain(&e);
            return unreachable_db(format!("database unreachable: {cause}"));
        }
        Err(_) => {
            return unreachable_db(format!(
                "database did not answer within {} s",
                DB_TIMEOUT.as_secs()
            ))
        }
    };
    // A stuck-run query that fails does not hide the failure streaks.
    let stuck = stuck_runs(state).await.unwrap_or_default();
    record_stuck(&stuck);
    let limit = i64::from(state.max_consecutive_failures);
    let failing: Vec<&JobRecord> = records
        .iter()
        .filter(|r| r.consecutive_failures >= limit)
        .collect();
    let mut reasons: Vec<String> = failing
        .iter()
        .map(|r| {
            format!(
                "tenant {}: {} failed {} times in a row",
                r.tenant, r.job, r.consecutive_failures
            )
        })
        .collect();
    reasons.extend(stuck.iter().map(stuck_reason));
    let mut failing_tenants: Vec<String> = failing
        .iter()
        .map(|r| r.tenant.clone())
        .chain(stuck.iter().map(|r| r.tenant.clone()))
        .collect();
    failing_tenants.sort();
    failing_tenants.dedup();
    Health {
        status: if reasons.is_empty() {
            "ok"
        } else {
            "unhealthy"
        },
        database: "ok".into(),
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        failing_tenants,
        stuck_runs: stuck,
        quarantined: quarantined(state).await,
        jobs: records.into_iter().map(job_health).collect(),
    }
}

async fn stuck_runs(
    state: &HealthState,
) -> Result<Vec<sync_runs::StuckRun>, crate::store::StoreError> {
    sync_runs::stuck_runs(&state.pool, &state.jobs, state.stuck_after, STUCK_FACTOR).await
}

async fn quarantined(state: &HealthState) -> std::collections::BTreeMap<String, i64> {
    let mut tenants: Vec<String> = state.jobs.iter().map(|(t, _)| t.clone()).collect();
    tenants.dedup();
    let counts = crate::store::quarantine::open_counts(&state.pool, &tenants).await;
    counts.unwrap_or_default().into_iter().collect()
}

fn record_stuck(stuck: &[sync_runs::StuckRun]) {
    crate::metrics::record_stuck_runs(stuck.iter().map(|r| crate::metrics::StuckRun {
        tenant: &r.tenant,
        job: &r.job,
        run_id: r.run_id,
        running_seconds: r.running_seconds,
    }));
}

fn stuck_reason(run: &sync_runs::StuckRun) -> String {
    let usual = match run.usual_seconds {
        Some(usual) => format!("its successful runs took at most {usual:.0} s"),
        None => "it has no successful run yet".into(),
    };
    format!(
        "tenant {}: {} run {} is stuck, running for {:.0} s ({usual})",
        run.tenant, run.job, run.run_id, run.running_seconds
    )
}

fn unreachable_db(reason: String) -> Health {
    Health {
        status: "unhealthy",
        database: "unreachable".into(),
        reason: Some(reason),
        failing_tenants: Vec::new(),
        stuck_runs: Vec::new(),
        quarantined: Default::default(),
        jobs: Vec::new(),
    }
}

fn job_health(record: JobRecord) -> JobHealth {
    JobHealth {
        tenant: record.tenant,
        job: record.job,
        consecutive_failures: record.consecutive_failures,
        last_status: record.last_status,
        last_success_at: record.last_success_at,
    }
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    if let Ok(Ok(stuck)) = tokio::time::timeout(DB_TIMEOUT, stuck_runs(&state)).await {
        record_stuck(&stuck);
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(),
    )
}
