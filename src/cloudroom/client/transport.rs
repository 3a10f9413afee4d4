//! How one call goes: budget, signature, send, classify, retry.

use super::*;

impl CloudRoomClient {
    fn metric<'a>(&'a self, endpoint: &'a str) -> metrics::ApiCall<'a> {
        metrics::ApiCall {
            tenant: &self.inner.tenant,
            vendor: VENDOR,
            endpoint,
        }
    }

    pub(super) async fn page<T: RawRecord>(
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

    pub(super) fn request<B: Serialize>(
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
            repeatable: method != Method::POST,
            method,
            url,
            body,
        })
    }

    /// Sends `req` until it succeeds, fails for good, or runs out of retries.
    pub(super) async fn execute(&self, req: &Request) -> Result<Value, CloudRoomError> {
        let span = tracing::info_span!(
            "cloudroom_call",
            endpoint = req.endpoint,
            status = Empty,
            code = Empty,
            latency_ms = Empty,
            request_id = Empty,
            attempts = Empty,
        );
        let started = Instant::now();
        let (result, attempts) = self.retry_loop(req, &span).instrument(span.clone()).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("latency_ms", latency_ms);
        span.record("attempts", attempts);
        result
    }

    /// Retries transient failures up to `backoff.max_retries` times. A 429
    /// is not one of them: its budget waits out the vendor's window, and
    /// the call gives up only after `rate_limit_patience` of refusals.
    pub(super) async fn retry_loop(
        &self,
        req: &Request,
        span: &tracing::Span,
    ) -> (Result<Value, CloudRoomError>, u32) {
        let retry = Retry {
            backoff: &self.inner.backoff,
            patience: self.inner.rate_limit_patience,
            cancel: self.inner.cancel.as_ref(),
        };
        // The budget holds a throttled call's pause (see `attempt`).
        let attempt = |so_far: Attempt| self.attempt(req, span, so_far.throttled);
        let classify = |e: &CloudRoomError| match () {
            _ if e.is_rate_limited() => Failure::Throttled,
            _ if !req.repeatable && e.may_have_taken_effect() => Failure::Permanent,
            _ if e.is_retryable() => Failure::Transient,
            _ => Failure::Permanent,
        };
        let on_retry = |error: &CloudRoomError, so_far: Attempt, delay: Duration| {
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::debug!(endpoint = req.endpoint, attempt = so_far.retries, delay_ms, error = %crate::causes::Chain(error), "retrying CloudRoom call");
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            metrics::record_retry(self.metric(req.endpoint));
        };
        retry.run(attempt, classify, on_retry).await
    }

    /// One HTTP exchange: a slot in the endpoint's budget, a fresh
    /// signature, send, classify, and the answer back to the budget.
    /// `refusals`: the 429s this call has had, which lengthen the pause
    /// after another one.
    pub(super) async fn attempt(
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
        metrics::record_limiter_wait(&self.inner.tenant, VENDOR, waited);
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
    pub(super) async fn exchange(
        &self,
        req: &Request,
        span: &tracing::Span,
    ) -> Result<Value, CloudRoomError> {
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
        let sent = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                metrics::record_api_call(self.metric(req.endpoint), None, "none", sent.elapsed());
                return Err(transport(e));
            }
        };
        let status = response.status().as_u16();
        span.record("status", status);
        let retry_after = retry_after(response.headers().get(RETRY_AFTER));
        let text = read_answer(req.endpoint, inner.timeout, response).await;
        let result = text.and_then(|text| interpret(req.endpoint, status, &text, retry_after));
        let code = match &result {
            Ok(_) => "0".to_string(),
            Err(e) => e
                .code()
                .map_or_else(|| "none".to_string(), crate::cloudroom::error::metric_code),
        };
        metrics::record_api_call(
            self.metric(req.endpoint),
            Some(status),
            &code,
            sent.elapsed(),
        );
        self.note_outcome(&result, span);
        result
    }

    /// A budget learned where the document states none is worth one warning
    /// per process; later adjustments are routine.
    pub(super) fn note_budget_change(&self, endpoint: &'static str, change: Change) {
        let (limit, what) = match change {
            Change::Learned(limit) => (limit, "learned"),
            Change::Lowered(limit) => (limit, "lowered"),
            Change::Raised(limit) => (limit, "raised"),
        };
        metrics::record_rate_budget(self.metric(endpoint), limit.per_minute);
        if matches!(change, Change::Learned(_)) {
            tracing::warn!(
                endpoint,
                per_minute = limit.per_minute,
                "CloudRoom answered 429 on an endpoint without a configured budget; \
                 learned a budget of {} requests/min (set cloudroom.rate_limits.{} to fix it)",
                limit.per_minute,
                crate::cloudroom::budgets::config_key(endpoint)
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

    pub(super) fn build(&self, req: &Request, auth: &AuthHeaders) -> reqwest::RequestBuilder {
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
    pub(super) fn note_outcome(
        &self,
        result: &Result<Value, CloudRoomError>,
        span: &tracing::Span,
    ) {
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

pub(super) const NO_BODY: Option<&()> = None;

/// A 429 pause grows with the call's refusals this many times at most
/// (3.2 s with the default backoff): a learned budget, not a long pause,
/// is what waits out a full window.
pub(super) const MAX_REFUSAL_STEPS: u32 = 4;

/// Turns an HTTP answer into its JSON value or the error it reports. An
/// empty 2xx body counts as `{}`, which is what the document shows.
pub(super) fn interpret(
    endpoint: &'static str,
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> Result<Value, CloudRoomError> {
    let parsed = if body.trim().is_empty() {
        Ok(Value::Object(serde_json::Map::new()))
    } else {
        // A lone surrogate escape would fail the whole answer: read it as U+FFFD.
        serde_json::from_str::<Value>(&crate::text::without_lone_surrogates(body))
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
            crate::text::one_line(&v.msg.unwrap_or_default()).into_owned(),
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

pub(super) fn typed<T: DeserializeOwned>(
    endpoint: &'static str,
    value: Value,
) -> Result<T, CloudRoomError> {
    T::deserialize(&value).map_err(|e| decode_error(endpoint, e, &value))
}

pub(super) fn decode_error(
    endpoint: &'static str,
    e: serde_json::Error,
    value: &Value,
) -> CloudRoomError {
    CloudRoomError::decode(endpoint, 200, e, &value.to_string())
}

pub(super) fn to_value<T: Serialize>(value: &T) -> Result<Value, CloudRoomError> {
    serde_json::to_value(value).map_err(|e| CloudRoomError::Config {
        message: format!("cannot encode a CloudRoom query: {e}"),
    })
}

pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

pub(super) fn parse_base(base_url: &str) -> Result<Url, String> {
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

/// The answer's text, bounded by [`crate::transport::API_BODY_LIMIT`]
/// (bytes that are not UTF-8 are replaced, and the decoder names them).
async fn read_answer(
    endpoint: &'static str,
    timeout: Duration,
    response: reqwest::Response,
) -> Result<String, CloudRoomError> {
    use crate::transport::{read_bounded, BodyError, API_BODY_LIMIT};
    match read_bounded(response, API_BODY_LIMIT).await {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(BodyError::TooLarge { limit }) => Err(CloudRoomError::TooLarge { endpoint, limit }),
        Err(BodyError::Read(e)) => Err(CloudRoomError::from_transport(endpoint, timeout, e)),
    }
}
