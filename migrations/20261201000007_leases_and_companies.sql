-- Leases: a running run's heartbeat, renewed while it runs, and who holds
-- it. A run whose heartbeat is older than the lease (its daemon died, was
-- SIGKILLed or lost the database) is taken over by another daemon, which
-- continues the same row (attempts + 1) from the job's checkpoint.
alter table confsync.sync_runs
    add column lease_owner  text,
    add column heartbeat_at timestamptz default now(),
    add column attempts     integer not null default 1;

-- The daemons' sweep looks only at running runs.
create index sync_runs_running on confsync.sync_runs (heartbeat_at)
    where status = 'running';

-- Companies as `confsync companies apply` left them. CloudRoom has no
-- endpoint that reads a company, so this table is the actual state the plan
-- compares with; only rows confsync created may ever be deleted.
create table confsync.companies (
    comp_guid           text primary key,
    tenant              text not null,
    comp_name           text not null,
    admin               text not null,
    admin_name          text not null,
    created_by_confsync boolean not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
