//! systemd notifications (`Type=notify`): READY once serving, WATCHDOG while
//! the runtime is alive, STOPPING on shutdown. Without `NOTIFY_SOCKET`
//! (not under systemd) every call does nothing.

use sd_notify::NotifyState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Pings the watchdog at half its interval until `stop`, when systemd asked
/// for one (`WatchdogSec=`). A wedged runtime stops pinging, and systemd
/// restarts the service.
pub fn spawn_watchdog(stop: CancellationToken) -> Option<JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()? / 2;
    tracing::info!(
        interval_ms = interval.as_millis() as u64,
        "pinging the systemd watchdog"
    );
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => send(&[NotifyState::Watchdog]),
            }
        }
    }))
}
