//! Requests certain to fail are not sent: once CloudRoom refuses the
//! credentials (22001–22009), every request of the same client would be
//! refused the same way, so the client answers them itself for a while.
//!
//! The gate reopens after [`AUTH_GATE_HOLD`]: an API permission granted
//! (22007) is picked up by a later run without a restart, while the
//! concurrent requests of a pass that is still queueing them stop at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::CloudRoomError;

pub const AUTH_GATE_HOLD: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct AuthGate {
    refused: Mutex<Option<Refusal>>,
}

#[derive(Debug, Clone)]
struct Refusal {
    at: Instant,
    code: i64,
    msg: String,
}

impl AuthGate {
    /// Closes the gate with the refusal's code and message. A clock out of
    /// step (22004) does not close it: the clock may be put right at any
    /// moment, and a pass stops at that error anyway.
    pub fn close(&self, error: &CloudRoomError) {
        if let CloudRoomError::Auth { code, msg, .. } = error {
            if *code == 22004 {
                return;
            }
            *self.lock() = Some(Refusal {
                at: Instant::now(),
                code: *code,
                msg: msg.clone(),
            });
        }
    }

    /// The refusal again, without a request, while the gate is closed.
    pub fn check(&self, endpoint: &'static str) -> Result<(), CloudRoomError> {
        let mut refused = self.lock();
        match refused.as_ref() {
            Some(r) if r.at.elapsed() < AUTH_GATE_HOLD => Err(CloudRoomError::Auth {
                endpoint,
                code: r.code,
                msg: r.msg.clone(),
            }),
            Some(_) => {
                *refused = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Refusal>> {
        self.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
