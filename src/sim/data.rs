//! Deterministic generation of the simulator's data. (stub: being written)
