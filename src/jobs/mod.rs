//! Every job confsync runs, one file each behind one trait ([`Job`]), and
//! the registry ([`JOBS`]) from which the daemon, `sync`, `status`, the
//! `[schedule]` settings and the metrics take their names.
//!
//! [`lifecycle`] is the one place that runs a job: lock, run record, span,
//! end state, counters, metrics, log line, release.

pub mod archive;
pub mod attendance;
pub mod conferences;
pub mod context;
pub mod details;
pub mod directory;
pub mod history;
pub mod lifecycle;
pub mod reconcile;
pub mod recordings;
pub mod schedule;
pub mod summary;
pub mod tenant;

use futures::future::BoxFuture;

pub use archive::Archive;
pub use attendance::Attendance;
pub use conferences::Conferences;
pub use context::JobContext;
pub use details::Details;
pub use directory::Directory;
pub use history::History;
pub use lifecycle::{run_claimed, run_job, run_sequence, Claim, RunOutcome};
pub use reconcile::Reconcile;
pub use recordings::Recordings;
pub use summary::{JobReport, JobSummary};
pub use tenant::TenantSettings;

use crate::store::sync_runs::RunTotals;

/// One job: what it is called and how one run goes. Everything around the
/// run (lock, record, metrics, logs) is [`lifecycle`]'s.
pub trait Job: Send + Sync {
    /// In `confsync.sync_runs.job`, the lock key, `[schedule]` and the metrics.
    fn name(&self) -> &'static str;
    /// The `[schedule]` expression when the configuration names none.
    fn default_schedule(&self) -> &'static str;
    /// The table whose rows the lifecycle counts (the row metrics' `table`
    /// label); `None` for a job that counts its own.
    fn table(&self) -> Option<&'static str>;
    /// A job whose runs can last hours (file transfers): the daemon gives
    /// such runs slots of their own (`daemon.max_concurrent_long_runs`),
    /// so that they never keep the short jobs of any tenant from a slot.
    fn is_long(&self) -> bool {
        false
    }
    /// The vendors whose credentials a run needs with `settings`, which
    /// `config check` asks every scheduled job for. Most jobs read
    /// CloudRoom.
    fn vendors(&self, _settings: &TenantSettings) -> Vendors {
        Vendors {
            cloudroom: true,
            aliyun: false,
        }
    }
    /// Whether a run with these options is a full pass.
    fn is_full(&self, options: &RunOptions) -> bool {
        options.full
    }
    /// Jobs the lifecycle runs first, in order, each as a run of its own
    /// under its own lock (their summaries in `run.steps`): a job that is a
    /// sequence, such as the reconcile.
    fn steps(&self) -> &'static [&'static dyn Job] {
        &[]
    }
    /// The job whose output this one reads, when both are steps of one
    /// sequence: the lifecycle then runs this step alongside that one
    /// instead of after it (the recordings pass follows the history pass).
    fn follows(&self) -> Option<&'static str> {
        None
    }
    /// Does the work, adding to `run.totals` as it goes so that a run that
    /// fails midway still records what it did.
    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Which vendors' credentials a job needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vendors {
    pub cloudroom: bool,
    pub aliyun: bool,
}

impl std::ops::BitOrAssign for Vendors {
    fn bitor_assign(&mut self, other: Self) {
        self.cloudroom |= other.cloudroom;
        self.aliyun |= other.aliyun;
    }
}

/// The jobs, in the order `status` lists them and the daemon schedules them.
pub static JOBS: [&(dyn Job + 'static); 8] = [
    &Conferences,
    &History,
    &Recordings,
    &Details,
    &Reconcile,
    &Directory,
    &Attendance,
    &Archive,
];

/// The three mirror passes, in the order a full mirror runs them (history
/// queues the conferences whose recordings are read next).
pub static MIRROR: [&(dyn Job + 'static); 3] = [&Conferences, &History, &Recordings];

/// The jobs `confsync sync` runs by name: the mirror's passes and the details.
pub static SYNCABLE: [&(dyn Job + 'static); 4] = [&Conferences, &History, &Recordings, &Details];

/// The registered job called `name`.
pub fn find(name: &str) -> Option<&'static dyn Job> {
    JOBS.iter().copied().find(|job| job.name() == name)
}

/// Every job's name.
pub fn names() -> impl Iterator<Item = &'static str> {
    JOBS.iter().map(|job| job.name())
}

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Re-read everything and mark what disappeared (the weekly reconcile).
    pub full: bool,
    /// Start the history pass at this day instead of the watermark.
    pub since: Option<chrono::NaiveDate>,
    /// Directory: execute deletes above `directory.max_deletes` instead of staging them.
    pub allow_mass_delete: bool,
    /// Archive: also the files past `archive.max_attempts`.
    pub retry_failed: bool,
    /// The mirror: a history pass and a recordings pass that run together
    /// (see [`Job::follows`]).
    pub alongside: crate::mirror::follow::Alongside,
}

impl RunOptions {
    /// What the mirror's passes read of these options.
    pub fn pass(&self) -> crate::mirror::PassOptions {
        crate::mirror::PassOptions {
            full: self.full,
            since: self.since,
            alongside: self.alongside.clone(),
        }
    }
}

/// One run in progress, as its job sees it.
pub struct Run<'a> {
    pub ctx: &'a JobContext,
    pub options: &'a RunOptions,
    pub run_id: i64,
    /// The lifecycle's token: cancelled by a shutdown or when the job lock is lost.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Both clients of this run count their requests here.
    pub calls: crate::transport::CallCounter,
    pub totals: RunTotals,
    /// A run that returned but did not do everything (objects that failed):
    /// recorded as failed with this message.
    pub incomplete: Option<String>,
    /// The summaries of the job's steps (see [`Job::steps`]).
    pub steps: Vec<JobSummary>,
    /// The job's own report (the directory apply's), which the CLI prints
    /// without knowing the job.
    pub report: Option<Box<dyn JobReport>>,
}

impl<'a> Run<'a> {
    pub fn new(
        ctx: &'a JobContext,
        options: &'a RunOptions,
        run_id: i64,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        Run {
            ctx,
            options,
            run_id,
            cancel,
            calls: Default::default(),
            totals: Default::default(),
            incomplete: None,
            steps: Vec::new(),
            report: None,
        }
    }

    /// The mirror's view of this run: its clients count into this run alone.
    pub fn mirror(&self) -> anyhow::Result<crate::mirror::MirrorContext> {
        self.ctx.mirror(self.cancel.clone(), &self.calls)
    }

    /// Runs one mirror pass as this run, adding to its totals.
    pub async fn mirror_pass(&mut self, pass: crate::mirror::Pass) -> anyhow::Result<()> {
        let (ctx, options) = (self.mirror()?, self.options.pass());
        crate::mirror::run_pass(&ctx, pass, &options, &mut self.totals).await
    }
}
