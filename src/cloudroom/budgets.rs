//! CloudRoom's request budgets: what the document states and what
//! `[cloudroom.rate_limits]` overrides.
//!
//! The document states "访问限制：300次/min" under 查询会议列表 and
//! 查询历史会议列表 only. Every other endpoint is unpaced by default, bounded
//! by its caller's concurrency, until the server answers 429 (see
//! [`crate::ratelimit`]).

use std::collections::BTreeMap;

use super::endpoint;

/// The limits the document states, per endpoint.
pub const DOCUMENTED: [(&str, u32); 2] = [
    (endpoint::CONFERENCE_LIST, 300),
    (endpoint::CONFERENCE_HISTORY, 300),
];

/// The key of `endpoint` under `[cloudroom.rate_limits]`: its label with
/// `_` for `.`, since a dotted TOML key would be a table.
pub fn config_key(label: &str) -> String {
    label.replace('.', "_")
}

/// Endpoint label → requests per minute (0: none): the documented limits,
/// then the deprecated single `requests_per_minute` for the two list
/// endpoints, then the table. A bad key comes back with its full name and
/// the problem.
pub fn resolve(
    legacy_list_limit: Option<u32>,
    table: &BTreeMap<String, u32>,
) -> Result<BTreeMap<String, u32>, Vec<(String, String)>> {
    let mut budgets: BTreeMap<String, u32> = DOCUMENTED
        .iter()
        .map(|(label, per_minute)| (label.to_string(), *per_minute))
        .collect();
    let mut problems = Vec::new();
    if let Some(per_minute) = legacy_list_limit {
        if per_minute == 0 {
            problems.push((
                "cloudroom.requests_per_minute".to_string(),
                "must be at least 1 (it sets the two list endpoints' budget; \
                 cloudroom.rate_limits sets any endpoint's, 0 for none)"
                    .to_string(),
            ));
        }
        for (label, _) in DOCUMENTED {
            budgets.insert(label.to_string(), per_minute);
        }
    }
    for (key, per_minute) in table {
        match endpoint::ALL.iter().find(|label| config_key(label) == *key) {
            Some(label) => {
                budgets.insert(label.to_string(), *per_minute);
            }
            None => problems.push((
                format!("cloudroom.rate_limits.{key}"),
                format!(
                    "unknown endpoint; the endpoints are {}",
                    endpoint::ALL.map(config_key).join(", ")
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(budgets)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_limits_the_two_lists_only() {
        let budgets = resolve(None, &BTreeMap::new()).unwrap();
        assert_eq!(budgets.get("conference.list"), Some(&300));
        assert_eq!(budgets.get("conference.history"), Some(&300));
        assert_eq!(budgets.get("video.list"), None);
    }

    #[test]
    fn the_table_overrides_and_the_old_key_still_sets_the_lists() {
        let table = BTreeMap::from([
            ("video_list".to_string(), 600),
            ("conference_history".to_string(), 0),
        ]);
        let budgets = resolve(Some(120), &table).unwrap();
        assert_eq!(budgets.get("conference.list"), Some(&120));
        assert_eq!(budgets.get("conference.history"), Some(&0));
        assert_eq!(budgets.get("video.list"), Some(&600));
    }

    #[test]
    fn an_unknown_endpoint_is_named() {
        let table = BTreeMap::from([("vidoe".to_string(), 5)]);
        let problems = resolve(None, &table).unwrap_err();
        assert_eq!(problems[0].0, "cloudroom.rate_limits.vidoe");
        assert!(problems[0].1.contains("video_list"), "{}", problems[0].1);
    }
}
