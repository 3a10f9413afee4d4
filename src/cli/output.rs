//! How commands print results for machines.

use serde::Serialize;

/// One JSON value on one line of stdout: the style of every `--json`
/// (JSON Lines; a command with several results prints several lines).
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
    }
}

/// [`print_json`] of one tenant's result, with a `tenant` key added, so
/// that the lines of a command run for every tenant say whose they are.
pub fn print_tenant_json<T: Serialize>(tenant: &str, value: &T) {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("tenant".into(), tenant.into());
            print_json(&fields);
        }
        Ok(other) => print_json(&other),
        Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
    }
}
