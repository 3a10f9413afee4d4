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
use super::signature::AuthHeaders;
use crate::configuration::CloudRoomSettings;
use crate::metrics;
use crate::ratelimit::{self, Answer, Change, EndpointBudgets};
use crate::retry::Backoff;
use crate::transport::CallCounter;

use super::endpoint as ep;

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
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("confsync/", env!("CARGO_PKG_VERSION")))
            .build()
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

    // ---------------------------------------------------------- conferences

    pub async fn create_conference(
        &self,
        body: &CreateConference,
    ) -> Result<CreatedConference, CloudRoomError> {
        let req = self.request(
            ep::CONFERENCE_CREATE,
            Method::POST,
            &["conference"],
            None,
            Some(body),
        )?;
        typed(ep::CONFERENCE_CREATE, self.execute(&req).await?)
    }

    pub async fn update_conference(
        &self,
        conf_id: i64,
        body: &UpdateConference,
    ) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_UPDATE,
            Method::PUT,
            &["conference", &id],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn get_conference(&self, conf_id: i64) -> Result<ConferenceDetail, CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_GET,
            Method::GET,
            &["conference", &id],
            None,
            NO_BODY,
        )?;
        let value = self.execute(&req).await?;
        ConferenceDetail::from_value(value.clone(), self.inner.tz)
            .map_err(|e| decode_error(ep::CONFERENCE_GET, e, &value))
    }

    pub async fn join_conference(
        &self,
        conf_id: i64,
        query: &JoinConference,
    ) -> Result<JoinResult, CloudRoomError> {
        let id = conf_id.to_string();
        let query = to_value(query)?;
        let req = self.request(
            ep::CONFERENCE_JOIN,
            Method::GET,
            &["conference", &id, "join"],
            Some(&query),
            NO_BODY,
        )?;
        typed(ep::CONFERENCE_JOIN, self.execute(&req).await?)
    }

    pub async fn end_conference(&self, conf_id: i64) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_END,
            Method::POST,
            &["conference", &id, "end"],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_conference(&self, conf_id: i64) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_DELETE,
            Method::DELETE,
            &["conference", &id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    /// Scheduled and in-progress conferences.
    pub async fn list_conferences(
        &self,
        query: &ListQuery,
    ) -> Result<Page<ConferenceRecord>, CloudRoomError> {
        self.page(ep::CONFERENCE_LIST, &["conference", "list"], query)
            .await
    }

    /// Ended conferences.
    pub async fn list_history(
        &self,
        query: &ListQuery,
    ) -> Result<Page<ConferenceRecord>, CloudRoomError> {
        self.page(
            ep::CONFERENCE_HISTORY,
            &["conference", "history", "list"],
            query,
        )
        .await
    }

    // ---------------------------------------------------------- recordings

    /// Recordings of one conference; only `current` and `size` of `query`
    /// are sent, as the document defines no other filters here.
    pub async fn list_videos(
        &self,
        conf_id: i64,
        query: &ListQuery,
    ) -> Result<Page<VideoRecord>, CloudRoomError> {
        let id = conf_id.to_string();
        self.page(ep::VIDEO_LIST, &["video", &id], &query.paging_only())
            .await
    }

    pub async fn delete_video(&self, file_id: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::VIDEO_DELETE,
            Method::DELETE,
            &["video", file_id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ----------------------------------------- companies (platform credentials)

    pub async fn create_company(&self, body: &CreateCompany) -> Result<Company, CloudRoomError> {
        let req = self.request(
            ep::COMPANY_CREATE,
            Method::POST,
            &["company"],
            None,
            Some(body),
        )?;
        typed(ep::COMPANY_CREATE, self.execute(&req).await?)
    }

    pub async fn update_company(
        &self,
        comp_guid: &str,
        body: &UpdateCompany,
    ) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::COMPANY_UPDATE,
            Method::PUT,
            &["company", comp_guid],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_company(&self, comp_guid: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::COMPANY_DELETE,
            Method::DELETE,
            &["company", comp_guid],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ---------------------------------------------------------------- users

    pub async fn create_user(&self, body: &CreateUser) -> Result<User, CloudRoomError> {
        let req = self.request(ep::USER_CREATE, Method::POST, &["user"], None, Some(body))?;
        typed(ep::USER_CREATE, self.execute(&req).await?)
    }

    pub async fn update_user(
        &self,
        account: &str,
        body: &UpdateUser,
    ) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::USER_UPDATE,
            Method::PUT,
            &["user", account],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_user(&self, account: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::USER_DELETE,
            Method::DELETE,
            &["user", account],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ---------------------------------------------------------- departments

    pub async fn create_department(
        &self,
        body: &DepartmentRequest,
    ) -> Result<Department, CloudRoomError> {
        let req = self.request(
            ep::DEPARTMENT_CREATE,
            Method::POST,
            &["department"],
            None,
            Some(body),
        )?;
        typed(ep::DEPARTMENT_CREATE, self.execute(&req).await?)
    }

    pub async fn update_department(
        &self,
        department_id: i64,
        body: &DepartmentRequest,
    ) -> Result<Department, CloudRoomError> {
        let id = department_id.to_string();
        let req = self.request(
            ep::DEPARTMENT_UPDATE,
            Method::PUT,
            &["department", &id],
            None,
            Some(body),
        )?;
        typed(ep::DEPARTMENT_UPDATE, self.execute(&req).await?)
    }

    /// Members move to the root department and become ordinary users.
    pub async fn delete_department(&self, department_id: i64) -> Result<(), CloudRoomError> {
        let id = department_id.to_string();
        let req = self.request(
            ep::DEPARTMENT_DELETE,
            Method::DELETE,
            &["department", &id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ------------------------------------------------------------ machinery

    async fn page<T: RawRecord>(
        &self,
        endpoint: &'static str,
        segments: &[&str],
        query: &ListQuery,
    ) -> Result<Page<T>, CloudRoomError> {
        let query = to_value(query)?;
        let req = self.request(endpoint, Method::GET, segments, Some(&query), NO_BODY)?;
        let value = self.execute(&req).await?;
        Page::from_value(value.clone()).map_err(|e| decode_error(endpoint, e, &value))
    }

    fn request<B: Serialize>(
        &self,
        endpoint: &'static str,
        method: Method,
        segments: &[&str],
        query: Option<&Value>,
        body: Option<&B>,
    ) -> Result<Request, CloudRoomError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| CloudRoomError::Config {
                message: "cloudroom.base_url cannot carry a path".into(),
            })?
            .pop_if_empty()
            .push("v2")
            .extend(segments);
        if let Some(Value::Object(fields)) = query {
            let pairs: Vec<(&String, String)> = fields
                .iter()
                .filter_map(|(k, v)| scalar_text(v).map(|text| (k, text)))
                .collect();
            if !pairs.is_empty() {
                url.query_pairs_mut().extend_pairs(pairs);
            }
        }
        let body =
            body.map(serde_json::to_vec)
                .transpose()
                .map_err(|e| CloudRoomError::Config {
                    message: format!("cannot encode the {endpoint} request: {e}"),
                })?;
        Ok(Request {
            endpoint,
            method,
            url,
            body,
        })
    }

    /// Sends `req` until it succeeds, fails for good, or runs out of retries.
    async fn execute(&self, req: &Request) -> Result<Value, CloudRoomError> {
        let span = tracing::info_span!(
            "cloudroom_call",
            endpoint = req.endpoint,
            http_status = Empty,
            code = Empty,
            latency_ms = Empty,
            request_id = Empty,
            attempt = Empty,
        );
        let started = Instant::now();
        let result = self.retry_loop(req, &span).instrument(span.clone()).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("latency_ms", latency_ms);
        result
    }

    /// Retries transient failures up to `backoff.max_retries` times. A 429
    /// is not one of them: its budget waits out the vendor's window, and
    /// the call gives up only after `rate_limit_patience` of refusals.
    async fn retry_loop(
        &self,
        req: &Request,
        span: &tracing::Span,
    ) -> Result<Value, CloudRoomError> {
        let backoff = &self.inner.backoff;
        let mut attempt: u32 = 0;
        let mut refusals: u32 = 0;
        let mut first_refusal: Option<Instant> = None;
        loop {
            span.record("attempt", attempt);
            let error = match self.attempt(req, span, refusals).await {
                Err(e) => e,
                answer => return answer,
            };
            let delay = if error.is_rate_limited() {
                let since = *first_refusal.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.inner.rate_limit_patience {
                    return Err(error);
                }
                refusals += 1;
                // The budget holds the pause (see `attempt`).
                Duration::ZERO
            } else if error.is_retryable() && attempt < backoff.max_retries {
                attempt += 1;
                backoff.delay(attempt - 1)
            } else {
                return Err(error);
            };
            tracing::debug!(
                endpoint = req.endpoint,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying CloudRoom call"
            );
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            metrics::record_retry(VENDOR, req.endpoint);
            if !self.sleep_unless_cancelled(delay).await {
                return Err(error);
            }
        }
    }

    /// Sleeps for `delay`; false when the client's token was cancelled first.
    async fn sleep_unless_cancelled(&self, delay: Duration) -> bool {
        match &self.inner.cancel {
            Some(cancel) if cancel.is_cancelled() => false,
            Some(cancel) => tokio::select! {
                _ = cancel.cancelled() => false,
                _ = tokio::time::sleep(delay) => true,
            },
            None => {
                tokio::time::sleep(delay).await;
                true
            }
        }
    }

    /// One HTTP exchange: a slot in the endpoint's budget, a fresh
    /// signature, send, classify, and the answer back to the budget.
    /// `refusals`: the 429s this call has had, which lengthen the pause
    /// after another one.
    async fn attempt(
        &self,
        req: &Request,
        span: &tracing::Span,
        refusals: u32,
    ) -> Result<Value, CloudRoomError> {
        let inner = &self.inner;
        inner.auth_gate.check(req.endpoint)?;
        let budget = inner.budgets.get(req.endpoint);
        let waited_from = Instant::now();
        let permit = match &inner.cancel {
            Some(cancel) => tokio::select! {
                _ = cancel.cancelled() => return Err(CloudRoomError::Cancelled { endpoint: req.endpoint }),
                permit = budget.acquire() => permit,
            },
            None => budget.acquire().await,
        };
        let waited = waited_from.elapsed();
        inner.stats.record_wait(waited);
        metrics::record_limiter_wait(VENDOR, waited);
        // An earlier answer in this batch may have been a refusal.
        inner.auth_gate.check(req.endpoint)?;
        let result = self.exchange(req, span).await;
        let answer = match &result {
            Ok(_) => Answer::Accepted,
            Err(CloudRoomError::RateLimited { retry_after, .. }) => Answer::RateLimited {
                pause: retry_after
                    .unwrap_or_else(|| inner.backoff.delay(refusals.min(MAX_REFUSAL_STEPS))),
            },
            Err(_) => Answer::Other,
        };
        if let Some(change) = permit.answer(answer) {
            self.note_budget_change(req.endpoint, change);
        }
        if let Err(e @ CloudRoomError::Auth { .. }) = &result {
            inner.auth_gate.close(e);
        }
        result
    }

    /// Signs, sends and classifies one request.
    async fn exchange(&self, req: &Request, span: &tracing::Span) -> Result<Value, CloudRoomError> {
        let inner = &self.inner;
        // Signed after the budget wait, so a long queue cannot age the timestamp.
        let auth = AuthHeaders::now(&inner.secret_id, &inner.secret_key);
        span.record("request_id", auth.request_id.as_str());
        // Not in scope (the mirror) is fine: only auditing callers collect ids.
        let _ = REQUEST_IDS.try_with(|ids| ids.borrow_mut().push(auth.request_id.clone()));
        let builder = self.build(req, &auth);
        inner.stats.record_call(req.endpoint);
        if let Some(calls) = &inner.run_calls {
            calls.add();
        }
        // URLs can carry a meeting password (join), so errors drop them.
        let transport = |e: reqwest::Error| {
            CloudRoomError::from_transport(req.endpoint, inner.timeout, e.without_url())
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                metrics::record_api_call(VENDOR, req.endpoint, None, "none");
                return Err(transport(e));
            }
        };
        let status = response.status().as_u16();
        span.record("http_status", status);
        let retry_after = retry_after(response.headers().get(RETRY_AFTER));
        let text = response.text().await.map_err(transport);
        let result = text.and_then(|text| interpret(req.endpoint, status, &text, retry_after));
        let code = match &result {
            Ok(_) => "0".to_string(),
            Err(e) => e
                .code()
                .map_or_else(|| "none".to_string(), |c| c.to_string()),
        };
        metrics::record_api_call(VENDOR, req.endpoint, Some(status), &code);
        self.note_outcome(&result, span);
        result
    }

    /// A budget learned where the document states none is worth one warning
    /// per process; later adjustments are routine.
    fn note_budget_change(&self, endpoint: &'static str, change: Change) {
        let (limit, what) = match change {
            Change::Learned(limit) => (limit, "learned"),
            Change::Lowered(limit) => (limit, "lowered"),
            Change::Raised(limit) => (limit, "raised"),
        };
        metrics::record_rate_budget(VENDOR, endpoint, limit.per_minute);
        if matches!(change, Change::Learned(_)) {
            tracing::warn!(
                endpoint,
                per_minute = limit.per_minute,
                "CloudRoom answered 429 on an endpoint without a configured budget; \
                 learned a budget of {} requests/min (set cloudroom.rate_limits.{} to fix it)",
                limit.per_minute,
                super::budgets::config_key(endpoint)
            );
        } else {
            tracing::info!(
                endpoint,
                per_minute = limit.per_minute,
                paced = limit.paced,
                "request budget {what}"
            );
        }
    }

    fn build(&self, req: &Request, auth: &AuthHeaders) -> reqwest::RequestBuilder {
        let mut builder = self.inner.http.request(req.method.clone(), req.url.clone());
        for (name, value) in auth.pairs() {
            builder = builder.header(name, value);
        }
        match &req.body {
            Some(body) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None => builder,
        }
    }

    /// `code` describes the last attempt: 0 for success, as the vendor's
    /// success bodies carry no code.
    fn note_outcome(&self, result: &Result<Value, CloudRoomError>, span: &tracing::Span) {
        let code = match result {
            Ok(_) => Some(0),
            Err(e) => e.code(),
        };
        if let Some(code) = code {
            span.record("code", code);
        }
        if result.as_ref().is_err_and(CloudRoomError::is_rate_limited) {
            self.inner
                .stats
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

const NO_BODY: Option<&()> = None;

/// A 429 pause grows with the call's refusals this many times at most
/// (3.2 s with the default backoff): a learned budget, not a long pause,
/// is what waits out a full window.
const MAX_REFUSAL_STEPS: u32 = 4;

/// Turns an HTTP answer into its JSON value or the error it reports. An
/// empty 2xx body counts as `{}`, which is what the document shows.
fn interpret(
    endpoint: &'static str,
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> Result<Value, CloudRoomError> {
    let parsed = if body.trim().is_empty() {
        Ok(Value::Object(serde_json::Map::new()))
    } else {
        serde_json::from_str::<Value>(body)
    };
    if (200..300).contains(&status) {
        return parsed.map_err(|e| CloudRoomError::decode(endpoint, status, e, body));
    }
    let vendor = parsed
        .ok()
        .filter(Value::is_object)
        .and_then(|v| VendorError::deserialize(&v).ok());
    match vendor {
        Some(v) => Err(CloudRoomError::from_vendor(
            endpoint,
            status,
            v.code,
            v.msg.unwrap_or_default(),
            retry_after,
        )),
        None if status == 429 => Err(CloudRoomError::from_vendor(
            endpoint,
            status,
            22008,
            String::new(),
            retry_after,
        )),
        None => Err(CloudRoomError::decode(
            endpoint,
            status,
            "error answer without a {code, msg} body",
            body,
        )),
    }
}

fn typed<T: DeserializeOwned>(endpoint: &'static str, value: Value) -> Result<T, CloudRoomError> {
    T::deserialize(&value).map_err(|e| decode_error(endpoint, e, &value))
}

fn decode_error(endpoint: &'static str, e: serde_json::Error, value: &Value) -> CloudRoomError {
    CloudRoomError::decode(endpoint, 200, e, &value.to_string())
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, CloudRoomError> {
    serde_json::to_value(value).map_err(|e| CloudRoomError::Config {
        message: format!("cannot encode a CloudRoom query: {e}"),
    })
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

fn parse_base(base_url: &str) -> Result<Url, String> {
    let url = Url::parse(base_url).map_err(|e| format!("cloudroom.base_url: not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "cloudroom.base_url: not an http(s) URL: {base_url}"
        ));
    }
    Ok(url)
}

tokio::task_local! {
    static REQUEST_IDS: std::cell::RefCell<Vec<String>>;
}

/// Runs `future` and returns, with its output, the `X-CR-RequestId` of every
/// request it sent (retries included, in order), so that a caller that
/// audits its mutations can name them to CloudRoom support.
pub async fn with_request_ids<F: std::future::Future>(future: F) -> (F::Output, Vec<String>) {
    REQUEST_IDS
        .scope(std::cell::RefCell::new(Vec::new()), async move {
            let output = future.await;
            let ids = REQUEST_IDS.with(|ids| ids.take());
            (output, ids)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::Settings;

    fn settings() -> CloudRoomSettings {
        let mut s = Settings::default().cloudroom;
        s.secret_id = Some("unit-test-id".into());
        s.secret_key = Some(SecretString::from("unit-test-key-do-not-print"));
        s
    }

    #[test]
    fn builds_v2_urls_under_the_base() {
        for base in [
            "http://127.0.0.1:9/CLOUDROOM-SERVER",
            "http://127.0.0.1:9/CLOUDROOM-SERVER/",
        ] {
            let mut s = settings();
            s.base_url = base.into();
            let client = CloudRoomClient::new(&s).unwrap();
            let q = serde_json::to_value(ListQuery::page(2, 100)).unwrap();
            let req = client
                .request(
                    "conference.history",
                    Method::GET,
                    &["conference", "history", "list"],
                    Some(&q),
                    NO_BODY,
                )
                .unwrap();
            assert_eq!(
                req.url.as_str(),
                "http://127.0.0.1:9/CLOUDROOM-SERVER/v2/conference/history/list?current=2&size=100"
            );
            let req = client
                .request(
                    "user.delete",
                    Method::DELETE,
                    &["user", "a b/c@x"],
                    None,
                    NO_BODY,
                )
                .unwrap();
            assert_eq!(
                req.url.as_str(),
                "http://127.0.0.1:9/CLOUDROOM-SERVER/v2/user/a%20b%2Fc@x"
            );
        }
    }

    #[test]
    fn missing_credentials_and_bad_settings_are_config_errors() {
        let mut s = settings();
        s.secret_key = None;
        let e = CloudRoomClient::new(&s).unwrap_err();
        assert!(matches!(e, CloudRoomError::Config { .. }));
        assert!(e.to_string().contains("cloudroom.secret_key"), "{e}");
        let mut s = settings();
        s.timezone = "Mars/Olympus".into();
        assert!(CloudRoomClient::new(&s).is_err());
        let mut s = settings();
        s.base_url = "ftp://x".into();
        assert!(CloudRoomClient::new(&s).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let client = CloudRoomClient::new(&settings()).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("unit-test-key-do-not-print"), "{shown}");
        assert!(shown.contains("unit-test-id"));
    }

    #[test]
    fn interprets_answers() {
        assert_eq!(
            interpret("conference.end", 200, "", None).unwrap(),
            serde_json::json!({})
        );
        let e = interpret(
            "conference.get",
            400,
            r#"{"code":22005,"msg":"签名无效"}"#,
            None,
        )
        .unwrap_err();
        assert!(e.is_auth());
        let e = interpret("conference.list", 429, "", Some(Duration::from_secs(2))).unwrap_err();
        assert!(e.is_rate_limited() && e.is_retryable());
        // The budget pauses the endpoint for the server's Retry-After.
        assert!(matches!(
            e,
            CloudRoomError::RateLimited {
                retry_after: Some(after),
                ..
            } if after == Duration::from_secs(2)
        ));
        let e = interpret(
            "video.delete",
            500,
            r#"{"code":21030,"msg":"录像不存在"}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some(21030));
        assert!(!e.is_retryable());
        let e = interpret("conference.get", 200, "<html>oops", None).unwrap_err();
        assert!(matches!(
            e,
            CloudRoomError::Decode {
                http_status: 200,
                ..
            }
        ));
    }
}
