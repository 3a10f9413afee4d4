//! The RPC gateway: common parameters, credentials, clock, signature, nonce, faults, and the error JSON

use super::*;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/", get(rpc).post(rpc))
}

/// One answer: HTTP status, the code it is counted under, the JSON body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) body: Value,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body)).into_response()
    }
}

pub(crate) type Params = BTreeMap<String, String>;

pub(crate) async fn rpc(
    State(state): State<Arc<SimState>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Reply {
    state.add_latency().await;
    let params = collect_params(query.as_deref(), &body);
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    // Unknown actions share one label so junk requests cannot grow the counters.
    let label = if ACTIONS.contains(&action) {
        action
    } else {
        "unknown"
    };
    let reply = match check(&state, &method, &params) {
        Ok(()) => dispatch(&state, action, &params),
        Err(reply) => reply,
    };
    state.count("aliyun", label, reply.status, &reply.code);
    reply
}

/// The SDK puts common parameters in the query and action parameters in a
/// form body; the gateway reads both.
pub(crate) fn collect_params(query: Option<&str>, body: &[u8]) -> Params {
    let mut params: Params = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    params
}

pub(crate) fn check(state: &SimState, method: &Method, params: &Params) -> Result<(), Reply> {
    require_common(params)?;
    check_access_key(state, params)?;
    check_timestamp(state, params)?;
    check_signature(state, method, params)?;
    check_nonce(state, params)?;
    check_version_and_action(params)?;
    check_faults(state, params)
}

pub(crate) fn require_common(params: &Params) -> Result<(), Reply> {
    const REQUIRED: [&str; 8] = [
        "AccessKeyId",
        "Signature",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "Version",
        "Action",
    ];
    match REQUIRED.iter().find(|k| blank(params, k)) {
        None => Ok(()),
        // Aliyun names the two credential parameters in the code itself.
        Some(&"AccessKeyId") => Err(gateway(
            params,
            400,
            "MissingAccessKeyId",
            &missing_message("AccessKeyId"),
        )),
        Some(&"Signature") => Err(gateway(
            params,
            400,
            "MissingSignature",
            &missing_message("Signature"),
        )),
        Some(name) => Err(gateway(
            params,
            400,
            "MissingParameter",
            &missing_message(name),
        )),
    }
}

pub(crate) fn missing_message(name: &str) -> String {
    format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
}

pub(crate) fn blank(params: &Params, key: &str) -> bool {
    params.get(key).is_none_or(|v| v.is_empty())
}

pub(crate) fn check_access_key(state: &SimState, params: &Params) -> Result<(), Reply> {
    if params.get("AccessKeyId") == Some(&state.config.access_key_id) {
        return Ok(());
    }
    Err(gateway(
        params,
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    ))
}

pub(crate) fn check_timestamp(state: &SimState, params: &Params) -> Result<(), Reply> {
    let text = params.get("Timestamp").map(String::as_str).unwrap_or("");
    let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, signature::TIMESTAMP_FORMAT) else {
        return Err(gateway(
            params,
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        ));
    };
    if (at.and_utc().timestamp() - state.now()).abs() > WINDOW_SECS {
        return Err(gateway(
            params,
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

pub(crate) fn check_signature(
    state: &SimState,
    method: &Method,
    params: &Params,
) -> Result<(), Reply> {
    if params.get("SignatureMethod").map(String::as_str) != Some(signature::SIGNATURE_METHOD) {
        return Err(gateway(
            params,
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not supported.",
        ));
    }
    let to_sign = signature::string_to_sign(method.as_str(), params);
    let expected = signature::sign(&to_sign, &state.config.access_key_secret);
    if params.get("Signature") == Some(&expected) {
        return Ok(());
    }
    // Aliyun echoes its string-to-sign so the caller can diff it with its own.
    let message = format!(
        "Specified signature is not matched with our calculation. server string to sign is:{to_sign}"
    );
    Err(gateway(params, 400, "SignatureDoesNotMatch", &message))
}

pub(crate) fn check_nonce(state: &SimState, params: &Params) -> Result<(), Reply> {
    let nonce = params
        .get("SignatureNonce")
        .map(String::as_str)
        .unwrap_or("");
    if lock(&state.aliyun).nonces.insert(nonce, state.now()) {
        return Ok(());
    }
    Err(gateway(
        params,
        400,
        "SignatureNonceUsed",
        "Specified signature nonce was used already.",
    ))
}

pub(crate) fn check_version_and_action(params: &Params) -> Result<(), Reply> {
    if params.get("Version").map(String::as_str) != Some(signature::API_VERSION) {
        return Err(gateway(
            params,
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    if !ACTIONS.contains(&action) {
        return Err(gateway(
            params,
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }
    Ok(())
}

/// Throttling answers 429, as today's Aliyun gateway does for
/// Throttling.User (older API references list 400 for the same code; the
/// client keys on the code, not the status).
pub(crate) fn check_faults(state: &SimState, params: &Params) -> Result<(), Reply> {
    let throttled = {
        let mut faults = state.faults();
        let hit = faults.aliyun_throttle_next > 0;
        if hit {
            faults.aliyun_throttle_next -= 1;
        }
        hit
    };
    if throttled {
        return Err(gateway(
            params,
            429,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ));
    }
    if state.should_fail() {
        return Err(gateway(
            params,
            500,
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
        ));
    }
    Ok(())
}

/// The gateway's error JSON.
pub(crate) fn gateway(params: &Params, status: u16, code: &str, message: &str) -> Reply {
    let region = params
        .get("RegionId")
        .map(String::as_str)
        .unwrap_or("cn-hangzhou");
    Reply {
        status,
        code: code.into(),
        body: json!({
            "RequestId": request_id(),
            "HostId": format!("{}.{region}.aliyuncs.com", signature::PRODUCT),
            "Code": code,
            "Message": message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product={}", signature::PRODUCT),
        }),
    }
}

/// `Success=false` comes back with HTTP 200, as the document's responses do.
pub(crate) fn business(error_code: i64, message: &str) -> Reply {
    Reply {
        status: 200,
        code: error_code.to_string(),
        body: json!({
            "RequestId": request_id(),
            "Success": false,
            "ErrorCode": error_code,
            "Message": message,
        }),
    }
}

pub(crate) fn success(extra: Map<String, Value>) -> Reply {
    let mut body = Map::new();
    body.insert("RequestId".into(), request_id().into());
    body.insert("Message".into(), "successful!".into());
    body.insert("Success".into(), true.into());
    body.insert("ErrorCode".into(), error_codes::OK.into());
    body.extend(extra);
    Reply {
        status: 200,
        code: error_codes::OK.to_string(),
        body: Value::Object(body),
    }
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}
