-- The daemon records which scheduled tick a run belongs to, so that several
-- daemons sharing this database run each job once per tick: the advisory lock
-- keeps runs of a job from overlapping, and this key keeps a second instance
-- whose clock is a little behind from running the same tick again after the
-- first has finished. Runs started by hand (`confsync sync`) have no tick.
alter table confsync.sync_runs add column scheduled_for timestamptz;

create unique index sync_runs_one_run_per_tick
    on confsync.sync_runs (tenant, job, scheduled_for)
    where scheduled_for is not null;
