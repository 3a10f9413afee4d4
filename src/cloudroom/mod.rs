//! CloudRoom meeting API v2 client. (stub: being written)
