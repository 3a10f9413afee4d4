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
