//! The CloudRoom v2 HTTP client: one typed method per documented endpoint,
//! each going through the shared per-secretId rate limiter, signed afresh
//! per attempt, and retried with backoff only when retrying can help.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::Instrument;
use url::Url;

use super::auth_gate::AuthGate;
use super::error::CloudRoomError;
use super::models::{
    Company, ConferenceDetail, ConferenceRecord, CreateCompany, CreateConference, CreateUser,
    CreatedConference, Department, DepartmentRequest, JoinConference, JoinResult, ListQuery, Page,
    RawRecord, UpdateCompany, UpdateConference, UpdateUser, User, VendorError, VideoRecord,
};
use super::settings::CloudRoomSettings;
use super::signature::AuthHeaders;
use crate::metrics;
use crate::ratelimit::{self, Answer, Change, EndpointBudgets};
use crate::retry::{Attempt, Backoff, Failure, Retry};
use crate::transport::CallCounter;

use super::endpoint as ep;

mod endpoints;
mod transport;

pub use transport::with_request_ids;
use transport::*;

/// The `vendor` label of this client's metrics.
const VENDOR: &str = "cloudroom";

/// Counters of one client (and its clones).
#[derive(Debug, Default)]
pub struct ClientStats {
    calls: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    limiter_wait_micros: AtomicU64,
    by_endpoint: Mutex<BTreeMap<&'static str, u64>>,
}

/// A consistent-enough copy of [`ClientStats`] for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub limiter_wait: Duration,
    pub by_endpoint: BTreeMap<&'static str, u64>,
}

impl ClientStats {
    /// HTTP requests sent, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    /// HTTP 429 / code 22008 answers seen.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
    /// Total time spent waiting for the rate limiter.
    pub fn limiter_wait(&self) -> Duration {
        Duration::from_micros(self.limiter_wait_micros.load(Ordering::Relaxed))
    }
    /// HTTP requests sent per endpoint label.
    pub fn by_endpoint(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.by_endpoint).clone()
    }
    pub fn endpoint_calls(&self, endpoint: &str) -> u64 {
        lock(&self.by_endpoint).get(endpoint).copied().unwrap_or(0)
    }
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            calls: self.calls(),
            retries: self.retries(),
            rate_limited: self.rate_limited(),
            limiter_wait: self.limiter_wait(),
            by_endpoint: self.by_endpoint(),
        }
    }

    fn record_call(&self, endpoint: &'static str) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        *lock(&self.by_endpoint).entry(endpoint).or_default() += 1;
    }
    fn record_wait(&self, waited: Duration) {
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.limiter_wait_micros
            .fetch_add(micros, Ordering::Relaxed);
    }
}

/// One HTTP client per timeout for the whole process: hundreds of tenants
/// then share one connection pool and one TLS configuration instead of
/// each loading its own.
fn shared_http(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    static CLIENTS: Mutex<BTreeMap<Duration, reqwest::Client>> = Mutex::new(BTreeMap::new());
    let mut clients = lock(&CLIENTS);
    if let Some(client) = clients.get(&timeout) {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(crate::transport::same_origin_redirects())
        .user_agent(concat!("confsync/", env!("CARGO_PKG_VERSION")))
        .build()?;
    clients.insert(timeout, client.clone());
    Ok(client)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// CloudRoom v2 client. Cloning is cheap and clones share the HTTP
/// connection pool, the limiter and the stats.
#[derive(Clone)]
pub struct CloudRoomClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    http: reqwest::Client,
    /// Ends with `/CLOUDROOM-SERVER` (or whatever the settings say).
    base: Url,
    secret_id: String,
    secret_key: SecretString,
    budgets: Arc<EndpointBudgets>,
    backoff: Backoff,
    /// How long one call keeps retrying 429s.
    rate_limit_patience: Duration,
    /// Set by an authentication refusal: requests certain to fail the same
    /// way are not sent (see [`AuthGate`]).
    auth_gate: Arc<AuthGate>,
    timeout: Duration,
    tz: Tz,
    stats: Arc<ClientStats>,
    /// Cuts retry waits short on shutdown (the last error is returned).
    cancel: Option<CancellationToken>,
    /// The run this clone works for, if any (see [`Self::for_run`]).
    run_calls: Option<CallCounter>,
    /// The tenant its metrics are labelled with.
    tenant: Arc<str>,
}

impl fmt::Debug for CloudRoomClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudRoomClient")
            .field("base", &self.inner.base.as_str())
            .field("secret_id", &self.inner.secret_id)
            .field("secret_key", &"[redacted]")
            .field(
                "configured_budgets",
                &self.inner.budgets.configured_budgets(),
            )
            .field("timezone", &self.inner.tz)
            .finish()
    }
}

/// One request, ready to be sent any number of times.
struct Request {
    endpoint: &'static str,
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    /// Sent again after a failure that may have taken effect. False for
    /// creates: a second POST after a lost answer makes a duplicate.
    repeatable: bool,
}

impl CloudRoomClient {
    /// A client for the enterprise whose credentials the settings hold.
    pub fn new(settings: &CloudRoomSettings) -> Result<Self, CloudRoomError> {
        let (secret_id, secret_key) =
            settings.credentials().map_err(|p| CloudRoomError::Config {
                message: p.to_string(),
            })?;
        Self::with_credentials(settings, secret_id, secret_key)
    }

    /// A client with the platform-wide credentials the company endpoints
    /// need; everything else (base URL, timeouts, limits) comes from `settings`.
    pub fn for_platform(
        settings: &CloudRoomSettings,
        secret_id: impl Into<String>,
        secret_key: SecretString,
    ) -> Result<Self, CloudRoomError> {
        Self::with_credentials(settings, secret_id.into(), secret_key)
    }

    fn with_credentials(
        settings: &CloudRoomSettings,
        secret_id: String,
        secret_key: SecretString,
    ) -> Result<Self, CloudRoomError> {
        let config = |message: String| CloudRoomError::Config { message };
        if secret_id.is_empty() || HeaderValue::from_str(&secret_id).is_err() {
            return Err(config(
                "cloudroom.secret_id is empty or not a valid header value".into(),
            ));
        }
        let base = parse_base(&settings.base_url).map_err(config)?;
        let tz: Tz = settings.timezone.parse().map_err(|_| {
            config(format!(
                "cloudroom.timezone: unknown time zone {:?}",
                settings.timezone
            ))
        })?;
        let timeout = Duration::from_secs(settings.timeout_seconds.max(1));
        let http = shared_http(timeout)
            .map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        let budgets = settings.endpoint_budgets().map_err(|problems| {
            config(
                problems
                    .into_iter()
                    .map(|(key, message)| format!("{key}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let budgets = ratelimit::shared(&secret_id, &budgets);
        Ok(CloudRoomClient {
            inner: Arc::new(Inner {
                http,
                base,
                secret_id,
                secret_key,
                budgets,
                backoff: Backoff::with_retries(settings.max_retries),
                rate_limit_patience: Duration::from_secs(settings.rate_limit_patience_seconds),
                auth_gate: Arc::default(),
                timeout,
                tz,
                stats: Arc::default(),
                cancel: None,
                run_calls: None,
                tenant: Arc::from(settings.tenant.as_str()),
            }),
        })
    }

    /// Replaces the retry policy (tests and batch jobs tune the delays).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        Arc::make_mut(&mut self.inner).backoff = backoff;
        self
    }

    /// Retry waits end early when `cancel` fires, so a shutdown is not held
    /// up by a backoff of up to `Backoff::max`.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        Arc::make_mut(&mut self.inner).cancel = Some(cancel);
        self
    }

    /// A clone for one run: its waits end with `cancel`, and its requests
    /// are counted in `calls` as well as in the shared stats.
    pub fn for_run(mut self, cancel: CancellationToken, calls: CallCounter) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        inner.cancel = Some(cancel);
        inner.run_calls = Some(calls);
        self
    }

    pub fn stats(&self) -> Arc<ClientStats> {
        self.inner.stats.clone()
    }

    pub fn secret_id(&self) -> &str {
        &self.inner.secret_id
    }

    /// The budgets this client shares with every client of its secretId.
    pub fn budgets(&self) -> Arc<EndpointBudgets> {
        self.inner.budgets.clone()
    }

    /// The zone in which the detail endpoint's wall-clock times are read.
    pub fn timezone(&self) -> Tz {
        self.inner.tz
    }
}

#[cfg(test)]
mod tests;
