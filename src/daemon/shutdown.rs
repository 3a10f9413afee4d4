//! Waiting for SIGTERM (systemd's stop) or SIGINT (Ctrl-C).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Registered before the daemon starts, so that a signal arriving during
/// start-up is not met by the default action (death without cleanup).
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn register() -> std::io::Result<Self> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Returns the name of the first signal received.
    pub async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
