//! `confsync demo`: the whole mirror end to end on a fresh machine, against
//! the built-in simulator and the local PostgreSQL.

use anyhow::Context as _;
use secrecy::SecretString;
use sqlx::PgPool;

use crate::configuration::{ConfigSources, Settings};
use crate::jobs::{self, JobContext, RunOptions};
use confsync_sim::{self as sim, SimConfig};

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    // The simulator enforces the document's limits and the client keeps its
    // default budgets: the demo shows the daemon as it would run.
    let simulator = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .context("cannot start the built-in simulator")?;
    println!("simulator: {}", simulator.base_url());
    point_at_simulator(&mut settings, &simulator);
    let sample = use_sample_directory(&mut settings);
    crate::store::db::create_database_if_missing(&settings.database).await?;
    let database = crate::secret::redact_url(&settings.database.url);
    println!("database:  {database}");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let ctx = crate::app::build(settings, shutdown, super::progress_bar()).await?;
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let summaries = jobs::run_sequence(&ctx, &jobs::MIRROR, &full).await?;
    ctx.progress.finish_and_clear();
    for summary in &summaries {
        super::jobs::print_summary(summary, false);
    }
    show_reports(&ctx.pool).await?;
    let directory = push_sample_directory(&ctx, &sample).await;
    let attendance = match &directory {
        Ok(_) => show_attendance(&ctx, &simulator, &database).await,
        Err(_) => Ok(()),
    };
    simulator.stop().await;
    let directory = directory?;
    attendance?;
    if let Some(e) = summaries.iter().find_map(|s| s.error.as_ref()) {
        anyhow::bail!("the mirror failed: {e}");
    }
    if directory.failed() {
        anyhow::bail!(
            "the directory push failed for {} object(s)",
            directory.failures.len()
        );
    }
    Ok(())
}

/// Points the directory at `config/sample-hr.csv`, both targets on.
fn use_sample_directory(settings: &mut Settings) -> std::path::PathBuf {
    let relative = std::path::Path::new("config/sample-hr.csv");
    let sample = if relative.exists() {
        relative.to_path_buf()
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
    };
    settings.directory.source = Some(sample.display().to_string());
    settings.directory.aliyun = true;
    settings.directory.cloudroom = true;
    settings.aliyun.group_id = Some("demo-group".into());
    settings.aliyun.group_name = Some("示例公司".into());
    sample
}

/// Plans and applies the sample directory against the demo's simulator.
async fn push_sample_directory(
    ctx: &JobContext,
    sample: &std::path::Path,
) -> anyhow::Result<crate::directory::ApplySummary> {
    use crate::directory::plan::{Kind, Target};
    let (settings, pool) = (&*ctx.settings, &ctx.pool);
    // The simulator starts empty every time: so does what confsync pushed to it.
    crate::store::directory::forget_tenant(pool, &settings.cloudroom.tenant).await?;
    let plan = crate::directory::prepare(settings.directory_config(), pool, false).await?;
    println!("\ndirectory plan for {}:", sample.display());
    for (title, target, kind) in [
        ("CloudRoom departments", Target::CloudRoom, Kind::Department),
        ("CloudRoom users", Target::CloudRoom, Kind::User),
        ("Aliyun users", Target::Aliyun, Kind::User),
    ] {
        let c = plan.counts(target, kind);
        println!(
            "  {title}: {} to create, {} to update, {} to delete",
            c.create, c.update, c.delete
        );
    }
    let outcome = jobs::run_job(ctx, &jobs::Directory, &RunOptions::default()).await?;
    let run = super::jobs::ran(outcome, ctx, &jobs::Directory)?;
    let Some(summary) = run.report_as::<crate::directory::ApplySummary>() else {
        anyhow::bail!("directory apply failed: {}", run.error.unwrap_or_default());
    };
    println!();
    super::jobs::print_summary(&run, false);
    Ok(summary.clone())
}

/// A weekly meeting of the people just pushed to Aliyun, read by the
/// attendance job, then the report that joins it with the HR directory.
async fn show_attendance(
    ctx: &JobContext,
    simulator: &sim::RunningSimulator,
    database: &str,
) -> anyhow::Result<()> {
    const UUID: &str = "demo-weekly-meeting";
    let start_ms = (chrono::Utc::now() - chrono::Duration::hours(2)).timestamp_millis();
    {
        let mut world = sim::lock(&simulator.state.aliyun);
        let meeting = world.generated_meeting(UUID, start_ms, 6);
        world.put_meeting(meeting).map_err(anyhow::Error::msg)?;
    }
    let tenant = &ctx.settings.cloudroom.tenant;
    // The demo's database outlives its simulator: read the meeting afresh.
    crate::store::attendance::forget_meeting(&ctx.pool, tenant, UUID).await?;
    crate::store::attendance::register(&ctx.pool, tenant, &[UUID.to_string()], "table").await?;
    // Everybody has left: one read, then the one more that ends it.
    for _ in 0..2 {
        let outcome = jobs::run_job(ctx, &jobs::Attendance, &RunOptions::default()).await?;
        if let Some(error) = super::jobs::ran(outcome, ctx, &jobs::Attendance)?.error {
            anyhow::bail!("the attendance job failed: {error}");
        }
    }
    let rows = crate::store::reports::attendance_per_department(&ctx.pool, tenant).await?;
    println!(
        "
report.attendance_per_department (Aliyun ListMembers joined with the HR directory):"
    );
    for (department, people, joins, minutes) in rows {
        let department = crate::text::pad(&department, 24);
        println!("  {department} {people} people, {joins} joins, {minutes:.0} minutes");
    }
    println!(
        "
Try it yourself:
  psql {database} -c 'select name, department, joins, minutes from report.attendance_per_person order by minutes desc'"
    );
    Ok(())
}

fn point_at_simulator(settings: &mut Settings, simulator: &sim::RunningSimulator) {
    let defaults = Settings::default();
    // The demo keeps its own database unless the user named one.
    if settings.database.url == defaults.database.url {
        settings.database.url = "postgres://postgres@127.0.0.1:5432/confsync_demo".into();
    }
    let cr = &mut settings.cloudroom;
    cr.base_url = simulator.cloudroom_base_url();
    cr.secret_id = Some(simulator.state.config.secret_id.clone());
    cr.secret_key = Some(SecretString::from(
        simulator.state.config.secret_key.clone(),
    ));
    cr.secret_key_file = None;
    let al = &mut settings.aliyun;
    al.endpoint = simulator.aliyun_endpoint();
    al.access_key_id = Some(simulator.state.config.access_key_id.clone());
    al.access_key_secret = Some(SecretString::from(
        simulator.state.config.access_key_secret.clone(),
    ));
    al.access_key_secret_file = None;
}

async fn show_reports(pool: &PgPool) -> anyhow::Result<()> {
    let days = crate::store::reports::meetings_per_day(pool, 5).await?;
    println!("\nreport.meetings_per_day (latest 5 days):");
    println!("  {:<12} {:>8} {:>8}", "day", "meetings", "minutes");
    for (day, meetings, minutes) in days {
        println!("  {day:<12} {meetings:>8} {minutes:>8}");
    }
    let hosts = crate::store::reports::minutes_per_host(pool, 5).await?;
    println!("\nreport.meeting_minutes_per_host (top 5):");
    println!("  {:<12} {:>8} {:>8}", "host", "meetings", "minutes");
    for (host, meetings, minutes) in hosts {
        let host = crate::text::pad(&host.unwrap_or_default(), 12);
        println!("  {host} {meetings:>8} {minutes:>8}");
    }
    Ok(())
}

/// The demo prints its own summary; job logs below warnings would only bury it.
pub fn quiet_sources(sources: &ConfigSources) -> ConfigSources {
    if std::env::var_os("RUST_LOG").is_some()
        || std::env::var_os("CONFSYNC_LOGGING__LEVEL").is_some()
    {
        return sources.clone();
    }
    let mut quiet = sources.clone();
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.push(("CONFSYNC_LOGGING__LEVEL".into(), "warn".into()));
    quiet.env = Some(vars);
    quiet
}
