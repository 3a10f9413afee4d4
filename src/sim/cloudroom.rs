//! The CloudRoom v2 API as the document describes it. (stub: being written)

use std::sync::Arc;

use axum::Router;

use super::{SimConfig, SimState};

#[derive(Debug, Default, serde::Serialize)]
pub struct World {}

impl World {
    pub fn generate(_config: &SimConfig) -> Self {
        World {}
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
