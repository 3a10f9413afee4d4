//! Request bodies, with exactly the field names of the document's request tables; unset fields are left out

use super::*;

/// Body of `POST /v2/conference`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateConference {
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
    #[serde(
        rename = "inviteIds",
        alias = "inviteeIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub invite_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_infos: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_notice: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_notice: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_config: Option<OrderConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Permission>,
    /// Spelled `votelds` in the document's request table, so that is what we send.
    #[serde(
        rename = "votelds",
        alias = "voteIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub vote_ids: Option<Vec<String>>,
}

/// Body of `PUT /v2/conference/{confId}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
    #[serde(
        rename = "inviteeIds",
        alias = "inviteIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub invitee_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_infos: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_config: Option<OrderConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Permission>,
}

/// Scheduling of a conference as sent: epoch seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrderConfig {
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub schedule_time: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub schedule_end_time: Option<i64>,
    /// 0 none, 1 daily, 2 workdays, 3 weekly, 4 fortnightly, 5 monthly.
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_type: Option<i64>,
    /// Epoch seconds; -1 means the recurrence never ends.
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_end_time: Option<i64>,
}

/// Conference attributes, both sent and received. The last four fields only
/// appear in the detail response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_open_camera: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_open_microphone: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub can_join_adv: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub login_ivr: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub water_mark: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_members: Option<i64>,
    /// Default video layout; `vwallo` in the request table, `vwalldo` in the
    /// detail example.
    #[serde(
        rename = "vwallo",
        alias = "vwalldo",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub vwallo: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_hall: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_join: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mic_use_local: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub camera_use_local: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub only_invitee: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub only_comp: Option<i64>,
}

/// Participant permissions, both sent and received. The vendor capitalises
/// `WB` and `IM`, which `camelCase` would not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(
        rename = "saveWB",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub save_wb: Option<i64>,
    #[serde(
        rename = "publicIM",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_im: Option<i64>,
    #[serde(
        rename = "privateIM",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_im: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_picture: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_url: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub record_conf: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_microphone: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_camera: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_share: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_modify_name: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pstn_call: Option<i64>,
    #[serde(
        rename = "createWB",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_wb: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub upload_doc: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub share_or_upload: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub srv_record: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub im_forbid_pic: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub im_forbid_url: Option<i64>,
}

/// Query of `GET /v2/conference/{confId}/join`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JoinConference {
    pub nick_name: String,
    /// 1 host, 4 ordinary participant (the server's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Query of the list endpoints. Paging policy is the caller's: the server
/// silently replaces an out-of-range `size` by 20 and a `current` past the
/// end by 1.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_user_id: Option<i64>,
    /// Epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Epoch seconds; at most one year after `start_time` (else code 22236).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

impl ListQuery {
    pub fn page(current: u32, size: u32) -> Self {
        ListQuery {
            current: Some(current),
            size: Some(size),
            ..ListQuery::default()
        }
    }

    /// Only the paging fields: the recordings endpoint documents no others.
    pub(crate) fn paging_only(&self) -> Self {
        ListQuery {
            current: self.current,
            size: self.size,
            ..ListQuery::default()
        }
    }
}

/// Body of `POST /v2/company` (platform credentials).
#[derive(Debug, Clone, Serialize)]
pub struct CreateCompany {
    #[serde(rename = "compGUID")]
    pub comp_guid: String,
    #[serde(rename = "compName")]
    pub comp_name: String,
    pub admin: String,
    #[serde(rename = "adminName")]
    pub admin_name: String,
    #[serde(rename = "adminPwd", serialize_with = "expose")]
    pub admin_pwd: SecretString,
}

/// Body of `PUT /v2/company/{compGUID}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpdateCompany {
    #[serde(rename = "compName")]
    pub comp_name: String,
}

/// Body of `POST /v2/user`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    pub account: String,
    #[serde(serialize_with = "expose")]
    pub password: SecretString,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Without it the user lands in the company's root department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<i64>,
    /// 1 admin, 2 meeting organiser (default), 3 user, 4 department admin, 5 finance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `PUT /v2/user/{account}`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    #[serde(serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `POST /v2/department` and `PUT /v2/department/{id}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentRequest {
    pub name: String,
    /// The root department's parent id is 1.
    pub parent_id: i64,
}

pub(super) fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

pub(super) fn expose_opt<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}
