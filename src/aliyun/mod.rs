//! Aliyun Cloud Video Conference (CVC, API version 2019-10-30) RPC client:
//! pushes the HR directory as CVC users and reads meeting attendance.

pub mod client;
pub mod error;
pub mod models;
pub mod settings;
pub mod signature;

pub use client::{AliyunClient, ClientStats, ClientStatsSnapshot};
pub use error::{AliyunError, VendorDetail};
pub use models::{AliyunUser, MeetingInfo, MemberInfo, UserInfo, UserRef};
pub use settings::AliyunSettings;
