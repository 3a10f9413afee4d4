//! The Aliyun CVC RPC API (2019-10-30) as the gateway and the service answer
//! it: common-parameter, credential, clock, signature and replay checks with
//! the gateway's HTTP error JSON, then the four actions on an in-memory world.
//!
//! Gateway codes and messages are Aliyun's public ones. The CVC document
//! lists no `ErrorCode` values for `Success=false`; the integers used here
//! are the simulator's choice (see [`error_codes`]).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{lock, SimState};
use crate::signing as signature;

/// `ErrorCode` values of `Success=false` answers. The document lists none,
/// so these integers are the simulator's own; confsync must not rely on them
/// (it reads the message too).
pub mod error_codes {
    pub const OK: i64 = 0;
    pub const MALFORMED_USER_INFO: i64 = 40001;
    pub const COUNT_MISMATCH: i64 = 40002;
    pub const MISSING_USER_FIELD: i64 = 40003;
    pub const USER_NOT_FOUND: i64 = 40401;
    pub const MEETING_NOT_FOUND: i64 = 40402;
}

/// The readings of "GetUser for a user that does not exist".
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AbsentUser {
    Error,
    ErrorZh,
    Empty,
}

/// Requests older or newer than this (against the simulator's clock), and
/// nonces seen within it, are refused, as Aliyun does.
const WINDOW_SECS: i64 = 15 * 60;
const ACTIONS: [&str; 4] = ["CreateUser", "DeleteUser", "GetUser", "ListMembers"];
const LOG_LIMIT: usize = 1000;
pub const EXAMPLE_MEETING_UUID: &str = "6c1f361";
pub const TABLE_MEETING_UUID: &str = "3b0e28fd-5614-4013-a23b-0e28fd561401";

#[derive(Debug, Serialize)]
pub struct World {
    pub users: BTreeMap<String, SimUser>,
    pub meetings: BTreeMap<String, SimMeeting>,
    /// Accepted action calls, oldest first (the last [`LOG_LIMIT`]), so tests
    /// can see how a client split its work.
    pub log: VecDeque<LoggedCall>,
    #[serde(skip)]
    nonces: NonceLog,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SimUser {
    pub user_id: String,
    pub user_name: String,
    pub group_id: String,
    pub group_name: String,
    pub user_avatar_url: Option<String>,
    pub depart_id: Option<String>,
    pub depart_name: Option<String>,
    pub user_email: Option<String>,
    pub user_tel: Option<String>,
    pub user_mobile: Option<String>,
    /// Epoch milliseconds of the first CreateUser; an update keeps it.
    pub create_time: i64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SimMeeting {
    pub uuid: String,
    pub name: String,
    pub code: String,
    pub creator: String,
    pub memo: String,
    pub create_date_ms: i64,
    pub members: Vec<SimMember>,
    /// Answer with the spelling of the document's example (`MemberList`,
    /// `CreateCreate`, numbers) instead of its table's.
    #[serde(default)]
    pub example_style: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SimMember {
    pub member_uuid: String,
    pub user_id: String,
    pub user_name: String,
    pub status: String,
    pub begin_ms: i64,
    pub end_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoggedCall {
    pub action: String,
    pub count: Option<usize>,
    pub user_ids: Vec<String>,
}

/// Nonces with the time they were first seen, oldest first.
#[derive(Debug, Default)]
struct NonceLog {
    order: VecDeque<(i64, String)>,
    seen: HashSet<String>,
}

impl NonceLog {
    /// Records `nonce`; false when it was already used inside the window.
    fn insert(&mut self, nonce: &str, now: i64) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now - *at <= WINDOW_SECS {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if !self.seen.insert(nonce.to_string()) {
            return false;
        }
        self.order.push_back((now, nonce.to_string()));
        true
    }
}

impl Default for World {
    fn default() -> Self {
        let meetings = [example_meeting(), table_meeting()]
            .into_iter()
            .map(|m| (m.uuid.clone(), m))
            .collect();
        World {
            users: BTreeMap::new(),
            meetings,
            log: VecDeque::new(),
            nonces: NonceLog::default(),
        }
    }
}

/// The document's ListMembers example, as it gives it.
fn example_meeting() -> SimMeeting {
    let member = |user_id: &str, member_uuid: &str| SimMember {
        member_uuid: member_uuid.into(),
        user_id: user_id.into(),
        user_name: "张三".into(),
        status: "online".into(),
        begin_ms: 1_989_123_913,
        end_ms: Some(19_912_312_312),
    };
    SimMeeting {
        uuid: EXAMPLE_MEETING_UUID.into(),
        name: "测试会议".into(),
        code: "12345678".into(),
        creator: "1001".into(),
        memo: "阿里云测试".into(),
        create_date_ms: 123_321_321_342,
        members: vec![member("001", "qweqweqsdf"), member("002", "qweqweqwe-sdf")],
        example_style: true,
    }
}

/// A meeting spelled as the table says, where one member joined twice.
fn table_meeting() -> SimMeeting {
    let start = 1_767_258_000_000; // 2026-01-01T09:00:00Z
    let member = |user_id: &str, n: i64, status: &str, end: Option<i64>| SimMember {
        member_uuid: format!("member-{user_id}-{n}"),
        user_id: user_id.into(),
        user_name: format!("用户{user_id}"),
        status: status.into(),
        begin_ms: start + n * 60_000,
        end_ms: end,
    };
    SimMeeting {
        uuid: TABLE_MEETING_UUID.into(),
        name: "周例会".into(),
        code: "00420042".into(),
        creator: "u-100".into(),
        memo: String::new(),
        create_date_ms: start - 600_000,
        members: vec![
            member("u-100", 0, "offline", Some(start + 600_000)),
            member("u-101", 1, "offline", Some(start + 300_000)),
            member("u-101", 7, "online", None),
            member("u-102", 2, "ring", None),
        ],
        example_style: false,
    }
}

mod actions;
mod gateway;

use actions::*;
pub use gateway::*;

impl World {
    /// Adds or replaces a meeting. Its members must be users of this
    /// enterprise (created with CreateUser), as in CVC.
    pub fn put_meeting(&mut self, meeting: SimMeeting) -> Result<(), String> {
        if let Some(m) = meeting
            .members
            .iter()
            .find(|m| !self.users.contains_key(&m.user_id))
        {
            return Err(format!(
                "member {} is not a user of this enterprise",
                m.user_id
            ));
        }
        self.meetings.insert(meeting.uuid.clone(), meeting);
        Ok(())
    }

    /// An ended meeting of up to `count` of the users, in userId order: each
    /// joins a minute after the previous one and stays 30 minutes; the first
    /// leaves after 10 minutes and rejoins 5 minutes later.
    pub fn generated_meeting(&self, uuid: &str, start_ms: i64, count: usize) -> SimMeeting {
        const MINUTE: i64 = 60_000;
        let mut members = Vec::new();
        for (n, user) in self.users.values().take(count).enumerate() {
            let join = start_ms + n as i64 * MINUTE;
            let record = |k: usize, begin: i64, end: i64| SimMember {
                member_uuid: format!("{uuid}-{}-{k}", user.user_id),
                user_id: user.user_id.clone(),
                user_name: user.user_name.clone(),
                status: "offline".into(),
                begin_ms: begin,
                end_ms: Some(end),
            };
            match n {
                0 => {
                    members.push(record(0, join, join + 10 * MINUTE));
                    members.push(record(1, join + 15 * MINUTE, join + 30 * MINUTE));
                }
                _ => members.push(record(0, join, join + 30 * MINUTE)),
            }
        }
        SimMeeting {
            uuid: uuid.into(),
            name: "周例会".into(),
            code: "00420042".into(),
            creator: members
                .first()
                .map(|m| m.user_id.clone())
                .unwrap_or_default(),
            memo: String::new(),
            create_date_ms: start_ms - 10 * MINUTE,
            members,
            example_style: false,
        }
    }
}
