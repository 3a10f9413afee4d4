//! `confsync directory verify`: reads a random sample of pushed people back
//! with Aliyun GetUser and reports where CVC differs from what confsync
//! sent (someone edited it by hand, or a push was lost).

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::aliyun::{AliyunClient, AliyunUser, UserInfo};

/// Reads in flight at once; verify is a spot check, not a bulk job.
const READS: usize = 4;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drift {
    pub employee_id: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub checked: usize,
    pub drift: Vec<Drift>,
    /// GetUser calls that failed (not drift: unknown).
    pub errors: Vec<Drift>,
}

/// Compares each sampled person with what CVC answers.
pub async fn check(
    client: &AliyunClient,
    sample: Vec<(String, serde_json::Value)>,
) -> VerifyReport {
    let checked = sample.len();
    let results: Vec<(String, Result<Vec<String>, String>)> = stream::iter(sample)
        .map(|(employee_id, sent)| async move {
            let result = match client.get_user(&employee_id).await {
                Ok(Some(actual)) => Ok(differences(&sent, &actual)),
                Ok(None) => Ok(vec!["missing in Aliyun".to_string()]),
                Err(e) => Err(crate::causes::Chain(&e).to_string()),
            };
            (employee_id, result)
        })
        .buffer_unordered(READS)
        .collect()
        .await;
    let mut report = VerifyReport {
        checked,
        ..VerifyReport::default()
    };
    for (employee_id, result) in results {
        match result {
            Ok(problems) => report
                .drift
                .extend(problems.into_iter().map(|problem| Drift {
                    employee_id: employee_id.clone(),
                    problem,
                })),
            Err(problem) => report.errors.push(Drift {
                employee_id,
                problem,
            }),
        }
    }
    report
        .drift
        .sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    report
}

fn differences(sent: &serde_json::Value, actual: &AliyunUser) -> Vec<String> {
    let Ok(sent) = serde_json::from_value::<UserInfo>(sent.clone()) else {
        return vec!["the stored record is unreadable".into()];
    };
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let pairs = [
        (
            "userName",
            Some(sent.user_name),
            Some(actual.user_name.clone()),
        ),
        (
            "groupId",
            Some(sent.group_id),
            Some(actual.group_id.clone()),
        ),
        (
            "groupName",
            Some(sent.group_name),
            Some(actual.group_name.clone()),
        ),
        ("departId", blank(&sent.depart_id), blank(&actual.depart_id)),
        (
            "departName",
            blank(&sent.depart_name),
            blank(&actual.depart_name),
        ),
        (
            "userEmail",
            blank(&sent.user_email),
            blank(&actual.user_email),
        ),
        ("userTel", blank(&sent.user_tel), blank(&actual.user_tel)),
        (
            "userMobile",
            blank(&sent.user_mobile),
            blank(&actual.user_mobile),
        ),
        (
            "userAvatarUrl",
            blank(&sent.user_avatar_url),
            blank(&actual.user_avatar_url),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, sent, actual)| sent != actual)
        .map(|(field, sent, actual)| {
            format!(
                "{field}: sent {}, Aliyun has {}",
                sent.as_deref().unwrap_or("(none)"),
                actual.as_deref().unwrap_or("(none)")
            )
        })
        .collect()
}
