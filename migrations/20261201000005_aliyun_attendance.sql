-- Aliyun CVC attendance. The API cannot list meetings, so the meetings come
-- from outside: rows users insert from their booking system, a file
-- (`confsync aliyun meetings add FILE`) or aliyun.meetings_source (a SQL
-- query). The attendance job calls ListMembers for each meeting until no
-- member is online, then once more, and keeps every join.
create schema if not exists aliyun;

create table aliyun.meetings (
    tenant           text not null default 'default',
    meeting_uuid     text not null,
    -- 'table' (inserted by hand or by a booking system), 'file' or 'query'.
    source           text not null default 'table',
    registered_at    timestamptz not null default now(),
    -- From ListMembers' MeetingInfo.
    meeting_name     text,
    meeting_code     text,
    creator_user_id  text,
    memo             text,
    created_at       timestamptz,
    -- The attendance job's progress.
    last_read_at     timestamptz,
    online_members   integer,
    -- Reads in a row that found members but none online; the second ends it.
    quiet_reads      integer not null default 0,
    -- Set when the meeting is read for the last time (or given up on after
    -- aliyun.attendance_window without a single join): not read again.
    finished_at      timestamptz,
    last_error       text,
    raw              jsonb,
    primary key (tenant, meeting_uuid)
);

-- One row per join (a member who joins twice has two MemberUUIDs).
create table aliyun.meeting_members (
    tenant         text not null default 'default',
    meeting_uuid   text not null,
    member_uuid    text not null,
    -- The CVC userId: the HR employee_id for users the directory pushed.
    user_id        text,
    user_name      text,
    -- online, offline or ring, as last read.
    status         text not null,
    begin_time     timestamptz,
    end_time       timestamptz,
    first_seen_at  timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    primary key (tenant, meeting_uuid, member_uuid),
    foreign key (tenant, meeting_uuid) references aliyun.meetings (tenant, meeting_uuid) on delete cascade
);
create index meeting_members_user on aliyun.meeting_members (tenant, user_id);

-- The HR directory's people as the reports see them: the employee_id (the
-- CVC userId), name and department as last pushed.
create view report.people as
select u.tenant, u.employee_id,
       coalesce(u.cloudroom_fields->>'name', u.aliyun_fields->>'userName') as name,
       coalesce(u.cloudroom_fields->>'department', u.aliyun_fields->>'departId') as department_key,
       coalesce(d.name, u.aliyun_fields->>'departName') as department
from directory.users u
left join directory.departments d
  on d.tenant = u.tenant
 and d.key = coalesce(u.cloudroom_fields->>'department', u.aliyun_fields->>'departId');

-- Each join with its minutes (a join still open counts until now) and its
-- person from the HR directory.
create view report.attendance as
select m.tenant, m.meeting_uuid, mt.meeting_name, m.member_uuid, m.user_id,
       coalesce(p.name, m.user_name) as name, p.department_key, p.department,
       m.status, m.begin_time, m.end_time,
       greatest(0, extract(epoch from coalesce(m.end_time, now()) - m.begin_time) / 60)::numeric(12, 2) as minutes
from aliyun.meeting_members m
join aliyun.meetings mt using (tenant, meeting_uuid)
left join report.people p on p.tenant = m.tenant and p.employee_id = m.user_id;

create view report.attendance_per_person as
select tenant, user_id, name, department,
       count(distinct meeting_uuid) as meetings,
       count(*) as joins,
       sum(minutes) as minutes,
       min(begin_time) as first_join,
       max(begin_time) as last_join
from report.attendance
group by tenant, user_id, name, department;

create view report.attendance_per_department as
select tenant, department,
       count(distinct user_id) as people,
       count(distinct meeting_uuid) as meetings,
       count(*) as joins,
       sum(minutes) as minutes
from report.attendance
group by tenant, department;

-- Minutes the department's people spent in meetings, per local month.
create view report.meeting_minutes_per_department as
select a.tenant, a.department,
       date_trunc('month', a.begin_time at time zone coalesce(t.timezone, 'Asia/Shanghai'))::date as month,
       sum(a.minutes) as minutes,
       count(distinct a.meeting_uuid) as meetings
from report.attendance a
left join confsync.tenants t using (tenant)
group by a.tenant, a.department, month;

-- For each CloudRoom conference with a detail: how many were invited, how
-- often it was held (the meeting history), and how many took part.
create view report.conference_invited_vs_held as
select d.tenant, d.conf_id, d.subject, d.host_name,
       (select count(*) from cloudroom.conference_invitees i
         where i.tenant = d.tenant and i.conf_id = d.conf_id) as invited,
       count(h.start_time) as held,
       coalesce(sum(h.members), 0)::bigint as participants,
       round(avg(h.members), 1) as participants_per_meeting
from cloudroom.conference_details d
left join cloudroom.meeting_history h
  on h.tenant = d.tenant and h.conf_id = d.conf_id and h.removed_at is null
where d.available
group by d.tenant, d.conf_id, d.subject, d.host_name;
