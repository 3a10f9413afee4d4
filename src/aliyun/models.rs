//! Request and response shapes of the CVC actions we use.
//!
//! Responses are decoded leniently: the document contradicts itself (the
//! ListMembers example says `MemberList` and `CreateCreate` where its table
//! says `MemberInfos` and `CreateDate`, numbers where the table says strings),
//! so every documented spelling and type is accepted and unknown fields are
//! ignored.

use serde::{Deserialize, Deserializer, Serialize};

/// One entry of the `UserInfo` JSON array sent to CreateUser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub user_id: String,
    pub user_name: String,
    pub group_id: String,
    pub group_name: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub user_avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub depart_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub depart_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub user_tel: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub user_mobile: Option<String>,
}

/// An empty optional is left out rather than sent as `""`, which the vendor
/// might store as a real (empty) value over the one it has.
fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// The `UserInfo` entry DeleteUser takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    pub user_id: String,
}

/// GetUser's `UserInfo` (PascalCase, unlike the request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AliyunUser {
    /// Not in the documented response; the client fills it from the request.
    #[serde(deserialize_with = "lenient_string")]
    pub user_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub user_name: String,
    /// Milliseconds since the epoch.
    #[serde(deserialize_with = "lenient_i64")]
    pub create_time: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    pub group_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub group_name: String,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_tel: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_email: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_mobile: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_avatar_url: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub depart_id: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub depart_name: Option<String>,
}

/// ListMembers' `MeetingInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct MeetingInfo {
    #[serde(rename = "MeetingUUID", deserialize_with = "lenient_string")]
    pub meeting_uuid: String,
    #[serde(rename = "MeetingName", deserialize_with = "lenient_opt_string")]
    pub meeting_name: Option<String>,
    /// A string in the table, a number in the example.
    #[serde(rename = "MeetingCode", deserialize_with = "lenient_opt_string")]
    pub meeting_code: Option<String>,
    /// `CreateDate` in the table, `CreateCreate` in the example.
    #[serde(
        rename = "CreateDate",
        alias = "CreateCreate",
        deserialize_with = "lenient_i64"
    )]
    pub create_date: Option<i64>,
    /// The creator.
    #[serde(rename = "UserId", deserialize_with = "lenient_opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "Memo", deserialize_with = "lenient_opt_string")]
    pub memo: Option<String>,
    /// `MemberInfos` in the table, `MemberList` in the example.
    #[serde(
        rename = "MemberInfos",
        alias = "MemberList",
        deserialize_with = "lenient_members"
    )]
    pub members: Vec<MemberInfo>,
}

/// One join of one member (a member who joins twice has two records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MemberInfo {
    #[serde(rename = "MemberUUID", deserialize_with = "lenient_string")]
    pub member_uuid: String,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub user_name: Option<String>,
    /// `online`, `offline` or `ring` per the document; kept as sent.
    #[serde(deserialize_with = "lenient_string")]
    pub status: String,
    /// As sent (the table says String, the example sends numbers whose unit
    /// the document never states), numbers rendered in decimal.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub begin_time: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub end_time: Option<String>,
}

/// The fields every CVC response carries, success or not.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Envelope {
    #[serde(deserialize_with = "lenient_opt_string")]
    pub request_id: Option<String>,
    #[serde(deserialize_with = "lenient_bool")]
    pub success: Option<bool>,
    #[serde(deserialize_with = "lenient_i64")]
    pub error_code: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_string")]
    pub message: Option<String>,
    /// Present on gateway (HTTP 4xx/5xx) errors only.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub code: Option<String>,
}

type Json = serde_json::Value;

/// Text as sent, numbers and booleans in their JSON spelling, null as absent.
fn value_to_string(value: Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Json::deserialize(d)?).filter(|s| !s.is_empty()))
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_to_string(Json::deserialize(d)?).unwrap_or_default())
}

/// Numbers, numeric strings and floats with no fraction; anything else is absent.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Json::deserialize(d)? {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Json::deserialize(d)? {
        Json::Bool(b) => Some(b),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_members<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MemberInfo>, D::Error> {
    Ok(Option::<Vec<MemberInfo>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_camel_case_without_empty_optionals() {
        let user = UserInfo {
            user_id: "123".into(),
            user_name: "张三".into(),
            group_id: "88".into(),
            group_name: "阿里巴巴".into(),
            depart_id: Some(String::new()),
            user_email: Some("a@b.c".into()),
            ..UserInfo::default()
        };
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"userId":"123","userName":"张三","groupId":"88","groupName":"阿里巴巴","userEmail":"a@b.c"}"#
        );
    }

    #[test]
    fn list_members_example_variant_decodes() {
        let example = r#"{
          "MeetingUUID": "6c1f361", "MeetingCode": 12345678, "MeetingName": "测试会议",
          "UserId": "1001", "Memo": "阿里云测试", "CreateCreate": 123321321342,
          "MemberList": [{"UserId":"001","MemberUUID":"qweqweqsdf","Status":"online",
            "BeginTime":1989123913,"EndTime":19912312312,"UserName":"张三","Extra":1}]
        }"#;
        let m: MeetingInfo = serde_json::from_str(example).unwrap();
        assert_eq!(m.meeting_code.as_deref(), Some("12345678"));
        assert_eq!(m.create_date, Some(123_321_321_342));
        assert_eq!(m.members.len(), 1);
        assert_eq!(m.members[0].begin_time.as_deref(), Some("1989123913"));
    }

    #[test]
    fn list_members_table_variant_decodes() {
        let table = r#"{"MeetingUUID":"x","MeetingCode":"0042","CreateDate":"1571119775000",
          "MemberInfos":[{"MemberUUID":"m","Status":"ring","BeginTime":"1571119775000"}]}"#;
        let m: MeetingInfo = serde_json::from_str(table).unwrap();
        assert_eq!(m.meeting_code.as_deref(), Some("0042"));
        assert_eq!(m.create_date, Some(1_571_119_775_000));
        assert_eq!(m.members[0].status, "ring");
    }

    #[test]
    fn envelope_tolerates_string_numbers() {
        let e: Envelope =
            serde_json::from_str(r#"{"Success":"false","ErrorCode":"40401","RequestId":"r"}"#)
                .unwrap();
        assert_eq!(e.success, Some(false));
        assert_eq!(e.error_code, Some(40401));
    }
}
