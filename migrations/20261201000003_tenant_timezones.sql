-- Each tenant's time zone (cloudroom.timezone), so that the report views
-- count days, weeks and months as the company does: a meeting at 07:30 in
-- Beijing belongs to that Beijing day, not to the previous UTC day. Every
-- mirror pass records its tenant's zone; a tenant without a row counts in
-- Asia/Shanghai, the default of cloudroom.timezone.
create table confsync.tenants (
    tenant      text primary key,
    timezone    text not null,
    updated_at  timestamptz not null default now()
);

-- Meetings with the local time of their tenant: the base of the views below.
create view report.meetings_local as
select h.*,
       coalesce(t.timezone, 'Asia/Shanghai') as timezone,
       h.start_time at time zone coalesce(t.timezone, 'Asia/Shanghai') as local_start
from cloudroom.meeting_history h
left join confsync.tenants t using (tenant);

create or replace view report.meetings_per_day as
select tenant,
       local_start::date as day,
       count(*) as meetings,
       count(distinct conf_id) as conferences,
       (coalesce(sum(duration_seconds), 0) / 60)::bigint as minutes,
       coalesce(sum(members), 0)::bigint as participants
from report.meetings_local
group by tenant, day;

-- Weeks start on Monday (ISO 8601), months on the 1st, both local.
create view report.meetings_per_week as
select tenant,
       date_trunc('week', local_start)::date as week,
       count(*) as meetings,
       count(distinct conf_id) as conferences,
       (coalesce(sum(duration_seconds), 0) / 60)::bigint as minutes,
       coalesce(sum(members), 0)::bigint as participants
from report.meetings_local
group by tenant, week;

create view report.meetings_per_month as
select tenant,
       date_trunc('month', local_start)::date as month,
       count(*) as meetings,
       count(distinct conf_id) as conferences,
       (coalesce(sum(duration_seconds), 0) / 60)::bigint as minutes,
       coalesce(sum(members), 0)::bigint as participants
from report.meetings_local
group by tenant, month;
