//! The CloudRoom v2 API as the vendor document describes it, quirks included:
//! header-signature auth with HTTP 400 codes 22001–22009, a per-secretId
//! request window answering 429/22008, business errors as HTTP 500 with
//! `{"code","msg"}`, success bodies without an envelope, list paging that
//! silently falls back to page 1 and size 20, and user updates where an
//! omitted field takes the document's default rather than keeping its value.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod accounts;
mod auth;
mod conference_fields;
mod conferences;
mod hostile;
mod request;
mod routes;
mod world;

pub use accounts::*;
pub use auth::*;
pub use conference_fields::*;
use request::*;
pub use routes::*;
pub use world::*;

use super::{lock, SimConfig, SimState};
use crate::data::{
    self, Attributes, Company, Conference, Department, FileId, HistoryMeeting, Permission,
    Recording, Text, User, CREATOR_NAME, CREATOR_USER_ID, ROLE_DEFAULT, ROLE_ORDINARY,
    ROOT_DEPARTMENT_ID, ROOT_DEPARTMENT_NAME,
};

/// Platform-wide credentials: the only ones the company endpoints accept.
/// How a credential of the wrong scope is refused (`--wrong-scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WrongScope {
    /// HTTP 500, code 22224 (权限不足).
    Permission,
    /// HTTP 400, code 22007 (企业未开放API接口权限), an authentication refusal.
    ApiDisabled,
}

/// How the simulator words a failure the document gives no code of its own
/// (`--undocumented-errors`, docs/simulator.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UndocumentedErrors {
    /// HTTP 500, code 400, the table's own 请求地址或参数错误 for every such
    /// failure: nothing tells an existing account from a missing field.
    Generic,
    /// HTTP 500, code 400, a message naming the problem (账号已存在, 账号不存在).
    Descriptive,
}

pub const PLATFORM_SECRET_ID: &str = "crPlatformSimId001";
pub const PLATFORM_SECRET_KEY: &str = "PlatformSimKey0000000000000000001";
/// A second enterprise whose API access is switched off: it signs correctly
/// and is still refused with 22007.
pub const API_DISABLED_SECRET_ID: &str = "crApiDisabledSim01";
pub const API_DISABLED_SECRET_KEY: &str = "ApiDisabledSimKey000000000000001";

/// "与服务器时间相差超过5分钟": exactly 300 s of difference is still accepted.
pub const MAX_CLOCK_DIFFERENCE_SECS: i64 = 300;
/// "时间间隔最大一年".
pub const MAX_QUERY_WINDOW_SECS: i64 = 365 * 86_400;
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
const MAX_SUBJECT_CHARS: usize = 50;
const MAX_NICKNAME_CHARS: usize = 30;
const MAX_ASSISTANTS: usize = 4;
const MAX_SCHEDULE_SECS: i64 = 24 * 3_600;

/// A refusal as the vendor sends it: an HTTP status and `{"code","msg"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status} code {code}: {msg}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: Cow<'static, str>,
    /// Seconds for a `Retry-After` header (429 only, when the flag asks).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Authentication failures are HTTP 400.
    fn auth(code: i64) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            msg: Cow::Borrowed(document_message(code)),
            retry_after: None,
        }
    }

    /// Business failures are HTTP 500 with the document's message.
    pub fn business(code: i64) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code,
            msg: Cow::Borrowed(document_message(code)),
            retry_after: None,
        }
    }

    /// 400 请求地址或参数错误: a malformed path, query or body.
    pub fn bad_request() -> Self {
        Self::business(400)
    }

    /// A failure the document gives no code for: code 400 with a message
    /// that says what is wrong.
    pub fn invalid(msg: &'static str) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 400,
            msg: Cow::Borrowed(msg),
            retry_after: None,
        }
    }

    /// The error as `--undocumented-errors` words it: under `generic`, a
    /// code-400 refusal carries the table's own message, whatever it was about.
    fn worded(self, wording: UndocumentedErrors) -> Self {
        if self.code != 400 || wording == UndocumentedErrors::Descriptive {
            return self;
        }
        ApiError {
            msg: Cow::Borrowed(document_message(400)),
            ..self
        }
    }

    fn rate_limited() -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: 22008,
            msg: Cow::Borrowed(document_message(22008)),
            retry_after: None,
        }
    }

    fn retry_after(self, seconds: Option<u64>) -> Self {
        ApiError {
            retry_after: seconds,
            ..self
        }
    }

    fn body(&self) -> Vec<u8> {
        let body = serde_json::json!({ "code": self.code, "msg": self.msg });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// The messages of the document's error tables.
fn document_message(code: i64) -> &'static str {
    match code {
        22001 => "header传参X-CR-SecretId不能为空",
        22002 => "header传参X-CR-Timestamp不能为空",
        22003 => "header传参X-CR-Signature不能为空",
        22004 => "签名过期",
        22005 => "签名无效",
        22006 => "账号不存在",
        22007 => "企业未开放API接口权限",
        22008 => "接口超出频率",
        22009 => "header传参X-CR-Timestamp格式不正确",
        400 => "请求地址或参数错误",
        22201 => "会议不存在",
        22202 => "会议密码错误",
        22203 => "会议未开始",
        22204 => "会议已结束",
        22205 => "仅邀请对象可加入会议",
        22206 => "仅企业内用户可加入会议",
        22207 => "获取小程序token异常",
        22208 => "企业暂无小程序配置",
        22209 => "会议主题不能为空",
        22210 => "会议密码为4-6位数字",
        22211 => "周期会议结束时间不能为空",
        22212 => "会议主题不能超过50个字符",
        22213 => "周期会议结束时间格式错误",
        22214 => "预约开始时间不能为空",
        22215 => "预约开始时间不能小于当前时间",
        22216 => "预约开始时间格式错误",
        22217 => "预约结束时间不能为空",
        22218 => "预约结束时间不能小于开始时间",
        22219 => "预约结束时间格式错误",
        22220 => "非法的周期会议类型",
        22221 => "周期会议结束时间不能小于开始时间",
        22222 => "预约时间不能超过24小时",
        22223 => "主持人不存在",
        22224 => "权限不足",
        22225 => "会议分屏数错误",
        22226 => "虚拟人数应在0-2000之间",
        22227 => "会议已开始或已结束",
        22228 => "邀请人不存在",
        22229 => "邀请人不能为空",
        22230 => "昵称不能为空",
        22231 => "参会者类型错误",
        22232 => "昵称不能大于30个字符",
        22233 => "会议记录为空",
        22234 => "联席主持人个数不能超过四个",
        22235 => "联席主持人不存在",
        22236 => "查询时间间隔不能超过一年",
        21030 => "录像不存在",
        _ => "服务器内部异常",
    }
}

type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_document_example() {
        assert_eq!(
            signature(
                super::super::DOC_SECRET_ID,
                1_622_098_479,
                super::super::DOC_SECRET_KEY
            ),
            "edda74671f313bc7c081bf6e11c8da9ebe73224e4aadba96f6ae2c6ba4550f25"
        );
    }

    #[test]
    fn paging_falls_back_to_defaults() {
        assert_eq!(
            paginate(45, None, None),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(45, Some(3), Some(20)),
            Page {
                start: 40,
                end: 45,
                remaining: 0
            }
        );
        assert_eq!(
            paginate(45, Some(4), Some(20)),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(45, Some(0), Some(101)),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(0, Some(1), Some(10)),
            Page {
                start: 0,
                end: 0,
                remaining: 0
            }
        );
        assert_eq!(
            paginate(45, Some(i64::MAX), Some(100)),
            Page {
                start: 0,
                end: 45,
                remaining: 0
            }
        );
    }

    #[test]
    fn detail_times_are_shanghai_wall_clock() {
        // The document's example: 2021-04-14 15:07:31 in Shanghai.
        assert_eq!(shanghai_time(1_618_384_051), "2021-04-14 15:07:31");
        assert_eq!(shanghai_time(0), "");
        assert_eq!(shanghai_time(-1), "");
    }
}
