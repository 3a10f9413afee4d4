//! Test controls under `/__admin/`. (stub: being written)

use std::sync::Arc;

use axum::Router;

use super::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
