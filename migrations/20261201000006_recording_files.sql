-- The archive: each recording's file copied into object storage.
-- `location` is the object's full URL (file:///..., s3://bucket/...);
-- `verified_at` is set when the object was read back whole and its size and
-- sha256 matched. Only a recording verified after it was archived is ever
-- deleted from CloudRoom.
create table cloudroom.recording_files (
    tenant            text not null default 'default',
    file_id           text not null,
    conf_id           bigint not null,
    location          text,
    bytes             bigint,
    -- Lowercase hex.
    sha256            text,
    content_type      text,
    archived_at       timestamptz,
    verified_at       timestamptz,
    attempts          integer not null default 0,
    last_attempt_at   timestamptz,
    last_error        text,
    -- DELETE video/{fileId} answered (or 21030: already gone).
    deleted_from_cloudroom_at  timestamptz,
    primary key (tenant, file_id)
);

-- Every deletion from CloudRoom confsync sent, with its X-CR-RequestId.
create table confsync.archive_deletions (
    id           bigint generated always as identity primary key,
    tenant       text not null default 'default',
    file_id      text not null,
    request_id   text,
    -- 0 deleted, 21030 already gone, else the vendor's code.
    code         bigint,
    message      text,
    at           timestamptz not null default now()
);

-- Each recording: still only on CloudRoom, archived, verified, or only in
-- the archive now (deleted from CloudRoom after its archive was verified).
create view report.recordings_archive as
select r.tenant, r.file_id, r.conf_id, r.title, r.created_at, r.size_bytes,
       f.location, f.bytes as archived_bytes, f.archived_at, f.verified_at,
       f.deleted_from_cloudroom_at,
       case
           when f.deleted_from_cloudroom_at is not null then 'archive only'
           when f.verified_at >= f.archived_at then 'archived and verified'
           when f.archived_at is not null then 'archived'
           when r.deleted_at is not null then 'lost'
           else 'only on CloudRoom'
       end as state,
       f.last_error
from cloudroom.recordings r
left join cloudroom.recording_files f using (tenant, file_id);

create view report.recordings_archive_summary as
select tenant, state, count(*) as recordings, coalesce(sum(size_bytes), 0)::bigint as bytes
from report.recordings_archive
group by tenant, state;
