-- The CloudRoom mirror. These tables are a public contract for SQL reports:
-- add columns freely, never rename or repurpose one.

create schema if not exists confsync;
create schema if not exists cloudroom;
create schema if not exists report;

-- One row per job run, written when the run starts and again when it ends.
create table confsync.sync_runs (
    id              bigint generated always as identity primary key,
    tenant          text not null default 'default',
    job             text not null,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    status          text not null default 'running'
                    check (status in ('running', 'succeeded', 'failed', 'abandoned')),
    full_pass       boolean not null default false,
    pages           bigint not null default 0,
    api_calls       bigint not null default 0,
    rows_inserted   bigint not null default 0,
    rows_updated    bigint not null default 0,
    rows_unchanged  bigint not null default 0,
    error           text
);
create index sync_runs_tenant_job_started on confsync.sync_runs (tenant, job, started_at desc);

-- Checkpoints (where an interrupted pass resumes) and watermarks (where the
-- next incremental pass starts), one JSON document per (tenant, job).
create table confsync.sync_state (
    tenant      text not null default 'default',
    job         text not null,
    state       jsonb not null default '{}'::jsonb,
    updated_at  timestamptz not null default now(),
    primary key (tenant, job)
);

-- Conferences whose recordings must be (re)read. Filled in the same
-- transaction as the history page that made them interesting, emptied in the
-- same transaction as their recordings: a crash in between loses nothing.
create table confsync.recording_queue (
    tenant      text not null default 'default',
    conf_id     bigint not null,
    enqueued_at timestamptz not null default now(),
    primary key (tenant, conf_id)
);

create table cloudroom.conferences (
    tenant          text not null default 'default',
    conf_id         bigint not null,
    subject         text,
    conf_type       integer,
    status          integer,
    schedule_start  timestamptz,
    schedule_end    timestamptz,
    host_name       text,
    members         integer,
    period_type     integer,
    owner_id        bigint,
    first_seen_at   timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    removed_at      timestamptz,
    content_hash    bytea not null,
    raw             jsonb not null,
    primary key (tenant, conf_id)
);

-- A periodic meeting repeats its confId, so the start time is part of the key.
create table cloudroom.meeting_history (
    tenant            text not null default 'default',
    conf_id           bigint not null,
    start_time        timestamptz not null,
    subject           text,
    conf_type         integer,
    end_time          timestamptz,
    duration_seconds  bigint,
    host_name         text,
    members           integer,
    period_type       integer,
    first_seen_at     timestamptz not null default now(),
    last_seen_at      timestamptz not null default now(),
    content_hash      bytea not null,
    raw               jsonb not null,
    primary key (tenant, conf_id, start_time)
);
create index meeting_history_start on cloudroom.meeting_history (tenant, start_time);
create index meeting_history_end on cloudroom.meeting_history (tenant, end_time);

create table cloudroom.recordings (
    tenant            text not null default 'default',
    file_id           text not null,
    conf_id           bigint not null,
    title             text,
    created_at        timestamptz,
    duration_seconds  bigint,
    size_bytes        bigint,
    vod_url           text,
    download_url      text,
    first_seen_at     timestamptz not null default now(),
    last_seen_at      timestamptz not null default now(),
    deleted_at        timestamptz,
    content_hash      bytea not null,
    raw               jsonb not null,
    primary key (tenant, file_id)
);
create index recordings_conf on cloudroom.recordings (tenant, conf_id);

-- The URL archive: every distinct pair of URLs a recording ever had.
create table cloudroom.recording_urls (
    tenant         text not null default 'default',
    file_id        text not null,
    download_url   text not null default '',
    vod_url        text not null default '',
    first_seen_at  timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    primary key (tenant, file_id, download_url, vod_url)
);

-- Reports. Times are shown in UTC; convert with AT TIME ZONE in your query.
create view report.meetings_per_day as
select tenant,
       (start_time at time zone 'UTC')::date as day,
       count(*) as meetings,
       count(distinct conf_id) as conferences,
       (coalesce(sum(duration_seconds), 0) / 60)::bigint as minutes,
       coalesce(sum(members), 0)::bigint as participants
from cloudroom.meeting_history
group by tenant, day;

create view report.meeting_minutes_per_host as
select tenant,
       host_name,
       count(*) as meetings,
       (coalesce(sum(duration_seconds), 0) / 60)::bigint as minutes,
       min(start_time) as first_meeting,
       max(start_time) as last_meeting
from cloudroom.meeting_history
group by tenant, host_name;

create view report.recordings_latest_urls as
select r.tenant, r.file_id, r.conf_id, r.title, r.created_at, r.duration_seconds,
       r.size_bytes, r.download_url, r.vod_url, r.first_seen_at, r.last_seen_at,
       r.deleted_at,
       (select count(*) from cloudroom.recording_urls u
         where u.tenant = r.tenant and u.file_id = r.file_id) as url_versions
from cloudroom.recordings r;

create view report.recording_url_changes as
select u.tenant, u.file_id, r.conf_id, r.title,
       u.download_url, u.vod_url, u.first_seen_at, u.last_seen_at,
       (u.download_url = coalesce(r.download_url, '') and u.vod_url = coalesce(r.vod_url, '')) as is_current
from cloudroom.recording_urls u
join cloudroom.recordings r using (tenant, file_id)
where (select count(*) from cloudroom.recording_urls v
        where v.tenant = u.tenant and v.file_id = u.file_id) > 1;
