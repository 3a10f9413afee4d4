//! The report views against hand-computed fixtures.

use crate::common;

use confsync::jobs::{self, RunOptions};
use sqlx::PgPool;

/// A meeting of `tenant` starting at `start` (RFC 3339), `minutes` long.
async fn meeting(pool: &PgPool, tenant: &str, conf_id: i64, start: &str, minutes: i64) {
    sqlx::query(
        "insert into cloudroom.meeting_history
            (tenant, conf_id, start_time, end_time, duration_seconds, members, content_hash, raw)
         values ($1, $2, $3::timestamptz, $3::timestamptz + make_interval(mins => $4::int), $4 * 60, 3, '\\x00', '{}')",
    )
    .bind(tenant)
    .bind(conf_id)
    .bind(start)
    .bind(minutes)
    .execute(pool)
    .await
    .unwrap();
}

async fn rows(pool: &PgPool, sql: &str) -> Vec<(String, String, i64, i64)> {
    sqlx::query_as(sql).fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn days_weeks_and_months_are_counted_in_the_tenants_time_zone() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    // Any mirror pass records its tenant's zone (cloudroom.timezone,
    // Asia/Shanghai by default).
    let ctx = common::mirror_context(&sim, &db);
    let summary = jobs::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    confsync::store::tenants::record_timezone(&db.pool, "london", "Europe/London")
        .await
        .unwrap();
    for tenant in ["default", "london"] {
        // 07:30 on Monday 2026-03-02 in Beijing, Sunday 23:30 in UTC.
        meeting(&db.pool, tenant, 1, "2026-03-01T23:30:00Z", 30).await;
        // 23:00 on Sunday 2026-03-01 in Beijing.
        meeting(&db.pool, tenant, 2, "2026-03-01T15:00:00Z", 60).await;
        // 00:30 on Saturday 2026-02-28 in Beijing, still February in London.
        meeting(&db.pool, tenant, 3, "2026-02-27T16:30:00Z", 15).await;
    }
    let days = rows(
        &db.pool,
        "select tenant, day::text, meetings, minutes from report.meetings_per_day order by tenant, day",
    )
    .await;
    let expected = |rows: &[(&str, &str, i64, i64)]| -> Vec<(String, String, i64, i64)> {
        rows.iter()
            .map(|(t, d, n, m)| (t.to_string(), d.to_string(), *n, *m))
            .collect()
    };
    assert_eq!(
        days,
        expected(&[
            ("default", "2026-02-28", 1, 15),
            ("default", "2026-03-01", 1, 60),
            ("default", "2026-03-02", 1, 30),
            ("london", "2026-02-27", 1, 15),
            ("london", "2026-03-01", 2, 90),
        ])
    );
    let weeks = rows(
        &db.pool,
        "select tenant, week::text, meetings, minutes from report.meetings_per_week order by tenant, week",
    )
    .await;
    assert_eq!(
        weeks,
        expected(&[
            ("default", "2026-02-23", 2, 75),
            ("default", "2026-03-02", 1, 30),
            ("london", "2026-02-23", 3, 105),
        ])
    );
    let months = rows(
        &db.pool,
        "select tenant, month::text, meetings, minutes from report.meetings_per_month order by tenant, month",
    )
    .await;
    assert_eq!(
        months,
        expected(&[
            ("default", "2026-02-01", 1, 15),
            ("default", "2026-03-01", 2, 90),
            ("london", "2026-02-01", 1, 15),
            ("london", "2026-03-01", 2, 90),
        ])
    );
    let zone: String =
        sqlx::query_scalar("select timezone from confsync.tenants where tenant = 'default'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(zone, "Asia/Shanghai");
}
