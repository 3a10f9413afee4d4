//! `confsync bench pages`: fetches the pages a first mirror reads (the
//! conference list, every history window, every conference's recordings)
//! and nothing else: no database, no conversion. Its time against a
//! simulator is that simulator's serving limit as our HTTP client meets it,
//! the floor a mirror's wall time is compared with (BENCHMARKS.md).

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::Context as _;
use futures::stream::{self, StreamExt, TryStreamExt};
use secrecy::SecretString;

use crate::cloudroom::{CloudRoomClient, ListQuery};
use crate::configuration::Settings;
use crate::mirror::history::WINDOW_SECONDS;

#[derive(Debug, Clone, clap::Args)]
pub struct PagesBenchArgs {
    /// The server's CloudRoom base URL (ends with /CLOUDROOM-SERVER).
    #[arg(long)]
    pub base_url: String,
    /// The server's secretId.
    #[arg(long, default_value = confsync_sim::DOC_SECRET_ID)]
    pub secret_id: String,
    /// The server's secretKey.
    #[arg(long, default_value = confsync_sim::DOC_SECRET_KEY)]
    pub secret_key: String,
    /// First day of the history walk (YYYY-MM-DD).
    #[arg(long)]
    pub history_start: String,
    /// Recordings requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

pub async fn run(settings: &Settings, args: &PagesBenchArgs) -> anyhow::Result<()> {
    let mut cr = settings.cloudroom.clone();
    cr.base_url = args.base_url.clone();
    cr.secret_id = Some(args.secret_id.clone());
    cr.secret_key = Some(SecretString::from(args.secret_key.clone()));
    cr.secret_key_file = None;
    cr.requests_per_minute = None;
    cr.rate_limits = [("conference_list", 0), ("conference_history", 0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let client = CloudRoomClient::new(&cr).context("cannot build the client")?;
    let start = chrono::NaiveDate::parse_from_str(&args.history_start, "%Y-%m-%d")
        .context("--history-start")?
        .and_hms_opt(0, 0, 0)
        .map_or(0, |d| d.and_utc().timestamp());
    let started = Instant::now();
    walk(&client, None).await?;
    let mut conf_ids = BTreeSet::new();
    let now = chrono::Utc::now().timestamp();
    let mut from = start;
    while from <= now {
        let window = (from, (from + WINDOW_SECONDS - 1).min(now));
        conf_ids.extend(walk(&client, Some(window)).await?);
        from += WINDOW_SECONDS;
    }
    stream::iter(conf_ids.iter().copied())
        .map(|conf_id| {
            let client = &client;
            async move { client.list_videos(conf_id, &ListQuery::page(1, 100)).await }
        })
        .buffer_unordered(args.concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let stats = client.stats();
    println!(
        "{}",
        serde_json::json!({
            "seconds": started.elapsed().as_secs_f64(),
            "requests": stats.calls(),
            "conferences": conf_ids.len(),
            "rate_limited": stats.rate_limited(),
        })
    );
    Ok(())
}

/// Every page of the conference list (`None`) or of one history window;
/// returns the confIds it saw.
async fn walk(client: &CloudRoomClient, window: Option<(i64, i64)>) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    let mut current = 1;
    loop {
        let mut query = ListQuery::page(current, 100);
        let page = match window {
            Some((start, end)) => {
                query.start_time = Some(start);
                query.end_time = Some(end);
                client.list_history(&query).await?
            }
            None => client.list_conferences(&query).await?,
        };
        ids.extend(page.records.iter().filter_map(|r| r.conf_id));
        let read = (current as u64) * 100;
        if page.records.is_empty() || read >= page.total {
            return Ok(ids);
        }
        current += 1;
    }
}
