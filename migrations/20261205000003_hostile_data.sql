-- Hostile vendor data (docs/hostile-data.md).
--
-- A vendor string holding NUL, which PostgreSQL's text and jsonb refuse, is
-- stored with U+FFFD in its place, in the typed columns and in `raw`; the
-- record exactly as received is kept here, as JSON text (NUL escaped as
-- \u0000), and only then.
alter table cloudroom.conferences       add column raw_original text;
alter table cloudroom.meeting_history   add column raw_original text;
alter table cloudroom.recordings        add column raw_original text;
alter table cloudroom.conference_details add column raw_original text;

-- A record that cannot be stored (a key twice in one answer, a null entry,
-- no key, a shape no documented field holds) waits here, and the rest of
-- its page is stored. A record with the same key stored by a later run
-- closes its row (`resolved_at`).
create table confsync.quarantine (
    id             bigint generated always as identity primary key,
    tenant         text not null,
    job            text not null,
    endpoint       text not null,
    -- The record's key as text (fileId, confId, confId@startTime), or
    -- `raw:` and a digest of the entry for entries without one.
    record_key     text not null,
    -- The entry as received, as JSON text (NUL escaped).
    raw            text not null,
    reason         text not null,
    first_seen_at  timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    times_seen     bigint not null default 1,
    resolved_at    timestamptz
);
create unique index quarantine_open
    on confsync.quarantine (tenant, endpoint, record_key, reason) where resolved_at is null;

-- Records a run quarantined.
alter table confsync.sync_runs add column quarantined bigint not null default 0;
