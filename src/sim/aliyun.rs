//! The Aliyun CVC RPC API (2019-10-30). (stub: being written)

use std::sync::Arc;

use axum::Router;

use super::SimState;

#[derive(Debug, Default, serde::Serialize)]
pub struct World {}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
