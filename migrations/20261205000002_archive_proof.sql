-- What an archived object was copied from: the API's `size` and the
-- download URL (without its query string, which may carry a signature)
-- at the time. A recording whose listed size or URL differs from these
-- is archived again, as a new version beside the previous object, and is
-- never deleted from CloudRoom while they differ.
alter table cloudroom.recording_files
    add column source_size bigint,
    add column source_url  text,
    -- 0: nothing archived yet; 1: the first object; each re-archive adds one.
    add column version     integer not null default 0;

-- Rows archived before this migration: the archive refused any body whose
-- size was not the API's, so `bytes` is the size it was copied at; the URL
-- is the one the mirror holds now.
update cloudroom.recording_files f
   set source_size = f.bytes,
       source_url = split_part(r.download_url, '?', 1),
       version = 1
  from cloudroom.recordings r
 where r.tenant = f.tenant and r.file_id = f.file_id and f.archived_at is not null;

-- The objects a re-archive superseded. They stay in the store, beside the
-- new one (`{file_id}.v{N}.{ext}`); this table says where.
create table cloudroom.recording_file_versions (
    tenant         text not null,
    file_id        text not null,
    version        integer not null,
    location       text not null,
    bytes          bigint,
    sha256         text,
    source_size    bigint,
    source_url     text,
    archived_at    timestamptz,
    superseded_at  timestamptz not null default now(),
    primary key (tenant, file_id, version)
);
