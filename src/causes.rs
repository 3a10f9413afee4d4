//! An error and its causes on one line, each cause once.
//!
//! Our own error messages leave their source out and mark it `#[source]`,
//! but some dependencies do both (sqlx: "error communicating with database:
//! {io error}", then the io error again as its source), so `{:#}` printed
//! such a cause two or three times. Every place that shows an error to a
//! person (stderr, logs, run records) goes through here, and gets one line
//! (control characters escaped, `text::one_line`).

use std::error::Error;
use std::fmt;

/// `error: cause: cause's cause`, skipping a cause whose text is already
/// on the line.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        let mut cause: Option<&(dyn Error + 'static)> = Some(self.0);
        while let Some(error) = cause {
            let text = error.to_string();
            if !text.is_empty() && !line.contains(&text) {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&text);
            }
            cause = error.source();
        }
        // Vendor messages may hold newlines or NUL: one line, always.
        f.write_str(&crate::text::one_line(&line))
    }
}

/// [`Chain`] of an `anyhow::Error`: its contexts, then its causes.
pub fn of(error: &anyhow::Error) -> String {
    Chain(error.as_ref()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect to PostgreSQL at 127.0.0.1:1/x")]
    struct Connect(#[source] Doubled);

    /// A dependency's error that repeats its source in its message.
    #[derive(Debug, thiserror::Error)]
    #[error("error communicating with database: {0}")]
    struct Doubled(#[source] std::io::Error);

    #[test]
    fn each_cause_is_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let error = anyhow::Error::new(Connect(Doubled(io))).context("status");
        assert_eq!(
            of(&error),
            "status: cannot connect to PostgreSQL at 127.0.0.1:1/x: \
             error communicating with database: Connection refused"
        );
    }
}
