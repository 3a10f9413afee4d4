//! The lease of a running run: who owns it ([`instance`]), its heartbeat,
//! and the cancellation that a lost lock or lease sends into the run.

use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::store::sync_runs;

/// This process, as the `lease_owner` of its runs: host, pid and a random
/// suffix (a pid is reused across restarts and containers).
pub fn instance() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        let host = if host.is_empty() { "localhost" } else { host };
        format!(
            "{host}/{}/{:04x}",
            std::process::id(),
            rand::random::<u16>()
        )
    })
}

/// Renews the run's lease every third of it until the guard drops. A
/// renewal that finds the run taken over cancels `lost`: another daemon
/// thought this one dead, so this one stops.
pub(super) fn beat(
    ctx: &JobContext,
    run_id: i64,
    lost: CancellationToken,
) -> tokio_util::sync::DropGuard {
    let pool = ctx.pool.clone();
    let every = ctx.lease / 3;
    let stop = CancellationToken::new();
    let guard = stop.clone().drop_guard();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match sync_runs::heartbeat(&pool, run_id, instance()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(
                        run_id,
                        "the run's lease was taken over by another instance; the run stops"
                    );
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    tracing::warn!(run_id, error = %crate::causes::Chain(&e), "cannot renew the run's lease")
                }
            }
        }
    });
    guard
}

/// Cancels `run` when `lost` is; the watch ends when the guard drops.
pub(super) fn cancel_when(
    lost: &CancellationToken,
    run: &CancellationToken,
) -> tokio_util::sync::DropGuard {
    let (lost, run) = (lost.clone(), run.clone());
    let watch = CancellationToken::new();
    let stop = watch.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = lost.cancelled() => run.cancel(),
            _ = stop.cancelled() => {}
        }
    });
    watch.drop_guard()
}
