//! Auth, rate limit, faults.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Meetings, recordings, users, departments: enterprise credentials.
    Enterprise,
    /// Company management: "需要使用平台全局的 secretId 和 secretKey".
    Platform,
}

/// Who signed a request.
pub(crate) struct Caller {
    pub(crate) secret_id: String,
    pub(crate) scope: Scope,
    /// The enterprise of `--tenants` it belongs to; `None`: the main one.
    pub(crate) tenant: Option<usize>,
}

/// The expected `X-CR-Signature`: sha256(secretId + '&' + Timestamp + '&' + secretKey), lowercase hex.
pub fn signature(secret_id: &str, timestamp: i64, secret_key: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "{secret_id}&{timestamp}&{secret_key}"
    )))
}

/// A header's value, with absent and blank both meaning "不能为空".
pub(crate) fn header_text<'a>(
    headers: &'a HeaderMap,
    name: &str,
    missing: i64,
) -> ApiResult<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::auth(missing))
}

/// Checks the four headers in the order the error table lists them.
/// `X-CR-RequestId` is required by the document but has no error code, so a
/// missing one is tolerated.
pub(crate) fn authenticate(headers: &HeaderMap, state: &SimState, now: i64) -> ApiResult<Caller> {
    let config = &state.config;
    let secret_id = header_text(headers, "X-CR-SecretId", 22001)?;
    let timestamp = header_text(headers, "X-CR-Timestamp", 22002)?;
    let signed = header_text(headers, "X-CR-Signature", 22003)?;
    let timestamp: i64 = timestamp.parse().map_err(|_| ApiError::auth(22009))?;
    let tenant = state.tenants.iter().position(|t| t.secret_id == secret_id);
    let (secret_key, scope, enabled) = if let Some(t) = tenant {
        (
            state.tenants[t].secret_key.as_str(),
            Scope::Enterprise,
            true,
        )
    } else if secret_id == config.secret_id {
        (config.secret_key.as_str(), Scope::Enterprise, true)
    } else if secret_id == PLATFORM_SECRET_ID {
        (PLATFORM_SECRET_KEY, Scope::Platform, true)
    } else if secret_id == API_DISABLED_SECRET_ID {
        (API_DISABLED_SECRET_KEY, Scope::Enterprise, false)
    } else {
        return Err(ApiError::auth(22006));
    };
    if (now - timestamp).abs() > MAX_CLOCK_DIFFERENCE_SECS {
        return Err(ApiError::auth(22004));
    }
    // The vendor signs with Guava's lowercase hex; other casings are invalid.
    if signed != signature(secret_id, timestamp, secret_key) {
        return Err(ApiError::auth(22005));
    }
    if !enabled {
        return Err(ApiError::auth(22007));
    }
    Ok(Caller {
        secret_id: secret_id.to_string(),
        scope,
        tenant,
    })
}

/// The gate every /v2 request passes, in this order:
/// 1. authentication: the gateway must know whose quota to charge, and
///    strangers never spend anyone's quota;
/// 2. the per-secretId rate limit (and injected 429s): still at the gateway;
/// 3. injected server faults (HTTP 500 code 500): they model the backend
///    behind the gateway, so only admitted requests meet them;
/// 4. the credential's scope (22224), a business rule of the backend.
pub(crate) fn admit(
    state: &SimState,
    headers: &HeaderMap,
    endpoint: &str,
    scope: Scope,
) -> ApiResult<Option<usize>> {
    let caller = authenticate(headers, state, state.now())?;
    {
        let mut faults = state.faults();
        if faults.cloudroom_revoked {
            return Err(ApiError::auth(22006));
        }
        if faults.cloudroom_429_next > 0 {
            faults.cloudroom_429_next -= 1;
            return Err(ApiError::rate_limited());
        }
    }
    lock(state.world_of(caller.tenant))
        .rate_windows
        .admit(&state.config.rate, &caller.secret_id, endpoint)
        .map_err(|refused| ApiError::rate_limited().retry_after(refused.retry_after))?;
    if state.should_fail() {
        return Err(ApiError::business(500));
    }
    if caller.scope != scope {
        return Err(match state.config.wrong_scope {
            super::WrongScope::Permission => ApiError::business(22224),
            super::WrongScope::ApiDisabled => ApiError::auth(22007),
        });
    }
    Ok(caller.tenant)
}

/// Runs one /v2 request: latency, the gate, then `work` under the world
/// lock; counts the outcome and turns it into the vendor's response.
pub(crate) async fn serve<F>(
    state: &SimState,
    headers: &HeaderMap,
    endpoint: &'static str,
    scope: Scope,
    work: F,
) -> Response
where
    F: FnOnce(&mut World, i64) -> ApiResult<Vec<u8>>,
{
    state.add_latency().await;
    if let Some(location) = state.faults().redirect_to.clone() {
        state.count("cloudroom", endpoint, 307, "");
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    let outcome = admit(state, headers, endpoint, scope).and_then(|tenant| {
        let now = state.now();
        work(&mut lock(state.world_of(tenant)), now)
    });
    let outcome = outcome.map_err(|e| e.worded(state.config.undocumented_errors));
    let (status, code, body, retry_after) = match outcome {
        Ok(body) => (StatusCode::OK, "0".to_string(), body, None),
        Err(e) => (e.status, e.code.to_string(), e.body(), e.retry_after),
    };
    state.count("cloudroom", endpoint, status.as_u16(), &code);
    if let Some(millis) = state.slow_answer(endpoint) {
        // The work is done; only the answer is late (a client timeout
        // cannot tell whether the request took effect).
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
    }
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
}

pub(crate) fn reply<T: Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|_| ApiError::business(500))
}

/// A list answer, without `remaining` when the world reads the document's
/// examples that way.
pub(crate) fn list_reply<T: Serialize>(world: &World, list: &T) -> ApiResult<Vec<u8>> {
    list_reply_with(world, list, None)
}

/// [`list_reply`], with `other` (a record of another conference) for
/// `--hostile-data` to slip into a recordings listing.
pub(crate) fn list_reply_with<T: Serialize>(
    world: &World,
    list: &T,
    other: Option<Value>,
) -> ApiResult<Vec<u8>> {
    let mut value = serde_json::to_value(list).map_err(|_| ApiError::business(500))?;
    if world.omit_remaining {
        if let Some(object) = value.as_object_mut() {
            object.remove("remaining");
        }
    }
    match world.hostile {
        Some(seed) => {
            super::hostile::corrupt(&mut value, seed, other);
            reply(&value).map(super::hostile::with_lone_surrogates)
        }
        None => reply(&value),
    }
}

pub(crate) fn empty_reply() -> ApiResult<Vec<u8>> {
    Ok(b"{}".to_vec())
}
