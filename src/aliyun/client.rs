//! The CVC client: signs each request like the official SDK, retries what is
//! worth retrying, and decodes the document's (inconsistent) responses.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::Instrument;

use super::error::{metric_code, AliyunError, VendorDetail};
use super::models::{AliyunUser, Envelope, MeetingInfo, UserInfo, UserRef};
use super::settings::AliyunSettings;
use super::signature;
use crate::metrics;
use crate::retry::{Attempt, Backoff, Failure, Retry};
use crate::transport::CallCounter;

/// The `vendor` label of this client's metrics.
const VENDOR: &str = "aliyun";

/// Counters callers may read at any time (e.g. for a sync summary).
#[derive(Debug, Default)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt), as the CloudRoom client counts them.
    pub calls: AtomicU64,
    /// Extra attempts after a retryable failure.
    pub retries: AtomicU64,
    /// Calls that ended in an error.
    pub failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStatsSnapshot {
    pub calls: u64,
    pub retries: u64,
    pub failures: u64,
}

impl ClientStats {
    pub fn snapshot(&self) -> ClientStatsSnapshot {
        ClientStatsSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// Cheap to clone; clones share the connection pool and the stats.
#[derive(Clone)]
pub struct AliyunClient {
    http: reqwest::Client,
    endpoint: String,
    region_id: String,
    access_key_id: String,
    access_key_secret: SecretString,
    backoff: Backoff,
    stats: Arc<ClientStats>,
    /// Cuts retry waits short on shutdown (the last error is returned).
    cancel: Option<CancellationToken>,
    /// The run this clone works for, if any (see [`Self::for_run`]).
    run_calls: Option<CallCounter>,
    tenant: Arc<str>,
}

impl fmt::Debug for AliyunClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunClient")
            .field("endpoint", &self.endpoint)
            .field("region_id", &self.region_id)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// One request's parameters before the common ones are added.
struct Call<'a> {
    action: &'a str,
    query: BTreeMap<String, String>,
    body: BTreeMap<String, String>,
}

impl AliyunClient {
    pub fn new(settings: &AliyunSettings) -> Result<AliyunClient, AliyunError> {
        let (access_key_id, access_key_secret) = settings
            .credentials()
            .map_err(|p| AliyunError::Config(p.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds.max(1)))
            .redirect(crate::transport::same_origin_redirects())
            .user_agent(concat!("confsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AliyunError::Config(format!("HTTP client: {e}")))?;
        Ok(AliyunClient {
            http,
            endpoint: settings.endpoint.trim_end_matches('/').to_string(),
            region_id: settings.region_id.clone(),
            access_key_id,
            access_key_secret,
            backoff: Backoff::with_retries(settings.max_retries),
            stats: Arc::new(ClientStats::default()),
            cancel: None,
            run_calls: None,
            tenant: Arc::from("default"),
        })
    }

    /// The tenant its metrics are labelled with.
    pub fn with_tenant(mut self, tenant: &str) -> Self {
        self.tenant = Arc::from(tenant);
        self
    }

    fn metric<'a>(&'a self, action: &'a str) -> metrics::ApiCall<'a> {
        metrics::ApiCall {
            tenant: &self.tenant,
            vendor: VENDOR,
            endpoint: action,
        }
    }

    /// Replaces the retry policy (tests shorten the delays).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Retry waits end early when `cancel` fires, so a shutdown is not held
    /// up by a backoff.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// A clone for one run: its waits end with `cancel`, and its HTTP
    /// requests (retries included) are counted in `calls`.
    pub fn for_run(mut self, cancel: CancellationToken, calls: CallCounter) -> Self {
        self.cancel = Some(cancel);
        self.run_calls = Some(calls);
        self
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// One CreateUser call for all of `users` (CreateUser upserts); returns
    /// the RequestId. The caller batches (`aliyun.batch_size`).
    pub async fn create_user_batch(&self, users: &[UserInfo]) -> Result<String, AliyunError> {
        self.batch_call("CreateUser", users).await
    }

    /// One DeleteUser call for all of `user_ids`; returns the RequestId.
    /// The caller batches (`aliyun.batch_size`, in the directory apply).
    pub async fn delete_user_batch(&self, user_ids: &[String]) -> Result<String, AliyunError> {
        let refs: Vec<UserRef> = user_ids
            .iter()
            .map(|id| UserRef {
                user_id: id.clone(),
            })
            .collect();
        self.batch_call("DeleteUser", &refs).await
    }

    /// The user as CVC has it, or `None` when CVC answers `Success=true`
    /// without a `UserInfo`. The document names no code and no message for a
    /// user that does not exist, so a `Success=false` answer stays an error
    /// (unknown), whatever its message says: nothing is decided on its text.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<AliyunUser>, AliyunError> {
        let call = Call {
            action: "GetUser",
            query: BTreeMap::from([("UserId".to_string(), user_id.to_string())]),
            body: BTreeMap::new(),
        };
        Ok(decode_user(self.call(call).await?, user_id))
    }

    /// Who joined and left a meeting, one record per join.
    pub async fn list_members(&self, meeting_uuid: &str) -> Result<MeetingInfo, AliyunError> {
        let call = Call {
            action: "ListMembers",
            query: BTreeMap::from([("MeetingUUID".to_string(), meeting_uuid.to_string())]),
            body: BTreeMap::new(),
        };
        let mut value = self.call(call).await?;
        let info = value
            .get_mut("MeetingInfo")
            .map(Value::take)
            .unwrap_or(Value::Null);
        if info.is_null() {
            return Err(AliyunError::Decode {
                action: "ListMembers".into(),
                status: 200,
                detail: "Success=true without MeetingInfo".into(),
            });
        }
        serde_json::from_value(info).map_err(|e| AliyunError::Decode {
            action: "ListMembers".into(),
            status: 200,
            detail: format!("MeetingInfo: {e}"),
        })
    }

    /// CreateUser and DeleteUser share a shape: `UserInfo` JSON plus `Count`,
    /// both in the form body as the SDK puts them.
    async fn batch_call<T: serde::Serialize>(
        &self,
        action: &str,
        entries: &[T],
    ) -> Result<String, AliyunError> {
        let user_info = serde_json::to_string(entries).map_err(|e| AliyunError::Decode {
            action: action.into(),
            status: 0,
            detail: format!("cannot encode UserInfo: {e}"),
        })?;
        let call = Call {
            action,
            query: BTreeMap::new(),
            body: BTreeMap::from([
                ("UserInfo".to_string(), user_info),
                ("Count".to_string(), entries.len().to_string()),
            ]),
        };
        let value = self.call(call).await?;
        Ok(request_id_of(&value).unwrap_or_default())
    }

    /// One logical call: attempts until success, a permanent error, or the
    /// retry budget is spent. Each attempt is signed afresh, since a retried
    /// nonce would be refused as a replay.
    async fn call(&self, call: Call<'_>) -> Result<Value, AliyunError> {
        let span = tracing::info_span!(
            "aliyun_call",
            endpoint = call.action,
            status = Empty,
            code = Empty,
            latency_ms = Empty,
            request_id = Empty,
            attempts = Empty,
        );
        let started = Instant::now();
        let result = self.attempts(&call).instrument(span.clone()).await;
        let (value, attempts) = result;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        span.record("attempts", attempts);
        record_outcome(&span, &value);
        if value.is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        value
    }

    async fn attempts(&self, call: &Call<'_>) -> (Result<Value, AliyunError>, u32) {
        let retry = Retry {
            backoff: &self.backoff,
            // The gateway's throttle is retried like any transient failure.
            patience: Duration::ZERO,
            cancel: self.cancel.as_ref(),
        };
        let classify = |e: &AliyunError| match e.is_retryable() {
            true => Failure::Transient,
            false => Failure::Permanent,
        };
        let on_retry = |e: &AliyunError, so_far: Attempt, delay: Duration| {
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(error = %crate::causes::Chain(e), attempt = so_far.retries, delay_ms, "retrying Aliyun call");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            metrics::record_retry(self.metric(call.action));
        };
        retry
            .run(|_| self.send_once(call), classify, on_retry)
            .await
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<Value, AliyunError> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(calls) = &self.run_calls {
            calls.add();
        }
        let sent = Instant::now();
        let result = self.exchange(call).await;
        let (status, code) = match &result {
            Ok(_) => (Some(200), "0"),
            Err(e) => (e.status(), e.code().map_or("none", |c| metric_code(&c))),
        };
        metrics::record_api_call(self.metric(call.action), status, code, sent.elapsed());
        result
    }

    async fn exchange(&self, call: &Call<'_>) -> Result<Value, AliyunError> {
        let (url, body) = self.signed_request(call);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport(call.action, e))?;
        let status = response.status().as_u16();
        let text = match crate::transport::read_bounded(response, crate::transport::API_BODY_LIMIT)
            .await
        {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(crate::transport::BodyError::Read(e)) => return Err(transport(call.action, e)),
            Err(too_large) => {
                return Err(AliyunError::Decode {
                    action: call.action.into(),
                    status,
                    detail: too_large.to_string(),
                })
            }
        };
        interpret(call.action, status, &text)
    }

    /// The URL (common and query parameters plus `Signature`) and the form
    /// body, placed where the official SDK places them.
    fn signed_request(&self, call: &Call<'_>) -> (String, String) {
        let timestamp = signature::format_timestamp(chrono::Utc::now());
        let nonce = uuid::Uuid::new_v4().to_string();
        let mut query = signature::common_params(
            call.action,
            &self.access_key_id,
            &self.region_id,
            &timestamp,
            &nonce,
        );
        query.extend(call.query.clone());
        let all = signature::merged(&query, &call.body);
        let to_sign = signature::string_to_sign("POST", &all);
        let sig = signature::sign(&to_sign, self.access_key_secret.expose_secret());
        query.insert("Signature".into(), sig);
        let url = format!("{}/?{}", self.endpoint, signature::encode_pairs(&query));
        (url, signature::encode_pairs(&call.body))
    }
}

/// The URL carries the signature and AccessKeyId; keep them out of messages.
fn transport(action: &str, e: reqwest::Error) -> AliyunError {
    AliyunError::Transport {
        action: action.into(),
        source: e.without_url(),
    }
}

/// Turns a raw answer into the payload or the error it stands for.
fn interpret(action: &str, status: u16, text: &str) -> Result<Value, AliyunError> {
    let parsed: Result<Value, _> =
        serde_json::from_str(&crate::text::without_lone_surrogates(text));
    let value = match parsed {
        Ok(v) if v.is_object() => v,
        _ => return Err(undecodable(action, status, text)),
    };
    let envelope: Envelope = serde_json::from_value(value.clone()).unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(AliyunError::from_gateway(VendorDetail {
            action: action.into(),
            status,
            code: envelope.code.unwrap_or_else(|| format!("HTTP{status}")),
            message: envelope.message.unwrap_or_default(),
            request_id: envelope.request_id,
        }));
    }
    match envelope.success {
        Some(true) => Ok(value),
        Some(false) => Err(AliyunError::Business {
            action: action.into(),
            error_code: envelope.error_code.unwrap_or(-1),
            message: envelope.message.unwrap_or_default(),
            request_id: envelope.request_id,
        }),
        // A 2xx answer without Success is a gateway error in disguise or
        // something new; either way not a confirmed success.
        None => Err(undecodable(action, status, text)),
    }
}

/// 5xx answers from a proxy are often HTML; they stay retryable as `Server`.
fn undecodable(action: &str, status: u16, text: &str) -> AliyunError {
    let excerpt: String = text.chars().take(200).collect();
    if status >= 500 {
        return AliyunError::Server(VendorDetail {
            action: action.into(),
            status,
            code: format!("HTTP{status}"),
            message: excerpt,
            request_id: None,
        });
    }
    AliyunError::Decode {
        action: action.into(),
        status,
        detail: excerpt,
    }
}

fn request_id_of(value: &Value) -> Option<String> {
    value
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn decode_user(mut value: Value, user_id: &str) -> Option<AliyunUser> {
    let info = value.get_mut("UserInfo").map(Value::take)?;
    if !info.is_object() {
        return None;
    }
    let mut user: AliyunUser = serde_json::from_value(info).ok()?;
    if user.user_id.is_empty() {
        user.user_id = user_id.to_string();
    }
    Some(user)
}

fn record_outcome(span: &tracing::Span, result: &Result<Value, AliyunError>) {
    match result {
        Ok(value) => {
            span.record("status", 200u16);
            span.record("code", "0");
            if let Some(id) = request_id_of(value) {
                span.record("request_id", id.as_str());
            }
        }
        Err(e) => {
            if let Some(status) = e.status() {
                span.record("status", status);
            }
            span.record("code", e.code().as_deref().unwrap_or("transport"));
            if let Some(id) = e.request_id() {
                span.record("request_id", id);
            }
            tracing::warn!(parent: span, error = %crate::causes::Chain(e), "aliyun call failed");
        }
    }
}
