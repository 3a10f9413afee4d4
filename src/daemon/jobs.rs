//! The jobs the daemon schedules, named as in `confsync.sync_runs.job` and
//! as the keys of `[schedule]`.

use serde::Serialize;

use crate::mirror::Job;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonJob {
    Conferences,
    History,
    Recordings,
    /// The mirror with `--full`: re-reads everything, marks what disappeared.
    Reconcile,
    /// Directory apply.
    Directory,
}

impl DaemonJob {
    pub const ALL: [DaemonJob; 5] = [
        DaemonJob::Conferences,
        DaemonJob::History,
        DaemonJob::Recordings,
        DaemonJob::Reconcile,
        DaemonJob::Directory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DaemonJob::Conferences => "conferences",
            DaemonJob::History => "history",
            DaemonJob::Recordings => "recordings",
            DaemonJob::Reconcile => "reconcile",
            DaemonJob::Directory => "directory",
        }
    }

    /// The mirror job this is, if it is one.
    pub fn mirror_job(self) -> Option<Job> {
        match self {
            DaemonJob::Conferences => Some(Job::Conferences),
            DaemonJob::History => Some(Job::History),
            DaemonJob::Recordings => Some(Job::Recordings),
            DaemonJob::Reconcile | DaemonJob::Directory => None,
        }
    }

    pub fn names() -> [&'static str; 5] {
        DaemonJob::ALL.map(DaemonJob::name)
    }
}
