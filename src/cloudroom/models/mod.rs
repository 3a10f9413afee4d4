//! Request and response bodies of the CloudRoom v2 API.
//!
//! Responses are decoded tolerantly: unknown fields are ignored, numbers may
//! arrive as strings and strings as numbers, and the document's own typos
//! (`vwalldo`, `votelds`, `inviteeIds`) are accepted next to the intended
//! spellings. Requests use exactly the field names of the document's request
//! tables and leave out unset fields.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

pub(crate) mod lenient;
mod requests;
mod responses;
mod times;

pub use requests::*;
pub use responses::*;
pub use times::*;

#[cfg(test)]
mod tests;
