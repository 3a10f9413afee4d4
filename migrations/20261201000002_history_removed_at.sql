-- A full history pass marks the meetings CloudRoom no longer lists, as the
-- conference list already does; the mark clears when a meeting comes back.
alter table cloudroom.meeting_history add column removed_at timestamptz;
