//! The probes and `/metrics` on `http.listen`: `/livez` (the process
//! answers), `/readyz` (and the database does), `/healthz` (and no enabled
//! job of any tenant has failed `health.max_consecutive_failures` times in
//! a row; the answer names the tenants that fail).

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

use crate::store::runs::{self, JobRecord};

/// A database that does not answer within this is reported unreachable.
const DB_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct HealthState {
    pub pool: PgPool,
    /// The enabled (tenant, job) pairs: a job switched off does not make the
    /// daemon unhealthy.
    pub jobs: Vec<(String, &'static str)>,
    pub max_consecutive_failures: u32,
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    failing_tenants: Vec<String>,
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
    let ping = sqlx::query_scalar::<_, i32>("select 1").fetch_one(&state.pool);
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
        tokio::time::timeout(DB_TIMEOUT, runs::job_records(&state.pool, &state.jobs)).await;
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
    let limit = i64::from(state.max_consecutive_failures);
    let failing: Vec<&JobRecord> = records
        .iter()
        .filter(|r| r.consecutive_failures >= limit)
        .collect();
    let reasons: Vec<String> = failing
        .iter()
        .map(|r| {
            format!(
                "tenant {}: {} failed {} times in a row",
                r.tenant, r.job, r.consecutive_failures
            )
        })
        .collect();
    let mut failing_tenants: Vec<String> = failing.iter().map(|r| r.tenant.clone()).collect();
    failing_tenants.dedup();
    Health {
        status: if failing.is_empty() {
            "ok"
        } else {
            "unhealthy"
        },
        database: "ok".into(),
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        failing_tenants,
        jobs: records.into_iter().map(job_health).collect(),
    }
}

fn unreachable_db(reason: String) -> Health {
    Health {
        status: "unhealthy",
        database: "unreachable".into(),
        reason: Some(reason),
        failing_tenants: Vec::new(),
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

async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(),
    )
}
