//! Aliyun CVC (2019-10-30) RPC client. (stub: being written)
