//! What keys a person and what keys an account (docs/directory.md,
//! "Identity"). HR exports change an id's case, add a full-width digit
//! or a stray space between two nights; none of that makes a new person.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::model::Desired;
use crate::store::directory::StoredUser;

/// How employee ids compare (`directory.employee_id_case`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdCase {
    /// `E10001` and `e10001` are one person (the default).
    #[default]
    Insensitive,
    /// Case tells people apart (an HR system whose ids differ only by case).
    Keep,
}

/// The key of an employee id: trimmed, NFKC, and case-folded unless `case`
/// keeps it.
pub fn person_key(employee_id: &str, case: IdCase) -> String {
    let normal: String = employee_id.trim().nfkc().collect();
    match case {
        IdCase::Insensitive => normal.to_lowercase(),
        IdCase::Keep => normal,
    }
}

/// The key of a CloudRoom account: trimmed, NFKC, case-folded. Two rows
/// whose accounts differ only by case name one login.
pub fn account_key(account: &str) -> String {
    account.trim().nfkc().collect::<String>().to_lowercase()
}

/// Gives every person and held row whose id has the key of a stored
/// person's that stored id, so that everything after this (the plan, the
/// store, Aliyun's userId) sees one id per person whatever HR's spelling
/// tonight. The id HR wrote is kept for the plan's output.
pub fn adopt_stored_ids(desired: &mut Desired, stored: &[StoredUser], case: IdCase) {
    let known: HashMap<String, &str> = stored
        .iter()
        .map(|u| (person_key(&u.employee_id, case), u.employee_id.as_str()))
        .collect();
    let stored_id = |id: &str| known.get(&person_key(id, case)).map(|s| s.to_string());
    for person in &mut desired.people {
        if let Some(id) = stored_id(&person.employee_id) {
            if id != person.employee_id {
                person.hr_employee_id = Some(std::mem::replace(&mut person.employee_id, id));
            }
        }
    }
    desired.held = desired
        .held
        .drain()
        .map(|id| stored_id(&id).unwrap_or(id))
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_keys_fold_width_case_and_space() {
        let case = IdCase::Insensitive;
        assert_eq!(person_key(" E10001 ", case), person_key("e10001", case));
        // Full-width letters and digits, as a Chinese IME types them.
        assert_eq!(person_key("Ｅ１０００１", case), "e10001");
        assert_ne!(
            person_key("E10001", IdCase::Keep),
            person_key("e10001", IdCase::Keep)
        );
        assert_eq!(person_key("Ｅ１ ", IdCase::Keep), "E1");
    }

    #[test]
    fn account_keys_ignore_case() {
        assert_eq!(
            account_key("Adv1@Example.com"),
            account_key("adv1@example.com")
        );
    }
}
