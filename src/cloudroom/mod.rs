//! CloudRoom meeting API v2 client.
//!
//! [`CloudRoomClient`] has one method per documented endpoint; every call is
//! rate-limited per secretId, signed per attempt ([`signature`]), retried on
//! transient failures and traced as a `cloudroom_call` span.

pub mod auth_gate;
pub mod budgets;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod models;
pub mod settings;
pub mod signature;

pub use client::{with_request_ids, ClientStats, CloudRoomClient, StatsSnapshot};
pub use error::{explain_code, CloudRoomError};
pub use models::{
    epoch_utc, parse_time, Attributes, Company, ConferenceDetail, ConferenceRecord, CreateCompany,
    CreateConference, CreateUser, CreatedConference, Department, DepartmentRequest, InviteeInfo,
    JoinConference, JoinResult, ListQuery, OrderConfig, OrderConfigDetail, Page, Permission,
    RawRecord, UpdateCompany, UpdateConference, UpdateUser, User, VideoRecord,
};
pub use settings::CloudRoomSettings;
