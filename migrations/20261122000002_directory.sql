-- The HR directory push. CloudRoom cannot list users or departments, so these
-- tables are the only record of what confsync pushed: the plan compares the
-- HR export with them, and confsync deletes nothing that is not in them.

create schema if not exists directory;

-- Departments confsync created in CloudRoom, by HR key (department_id when HR
-- gives one, else the path). parent_key null means the company root.
create table directory.departments (
    tenant        text not null default 'default',
    key           text not null,
    cloudroom_id  bigint not null,
    name          text not null,
    parent_key    text,
    path          text not null,
    -- sha256 over exactly what CloudRoom received (name, parent key).
    content_hash  bytea not null,
    pushed_at     timestamptz not null default now(),
    primary key (tenant, key)
);

-- People confsync pushed, by HR employee_id. A null hash means the person
-- is not (or no longer) in that target; the fields are what the target
-- received last (never a password), so that plan can show old -> new.
create table directory.users (
    tenant               text not null default 'default',
    employee_id          text not null,
    account              text not null,
    -- 'created' or 'adopted' (the account existed before confsync pushed it).
    cloudroom_origin     text check (cloudroom_origin in ('created', 'adopted')),
    cloudroom_hash       bytea,
    cloudroom_fields     jsonb,
    cloudroom_pushed_at  timestamptz,
    aliyun_hash          bytea,
    aliyun_fields        jsonb,
    aliyun_pushed_at     timestamptz,
    -- When the person was first seen inactive or missing from the export;
    -- delete_grace_days counts from here. Null while active.
    first_seen_inactive  timestamptz,
    primary key (tenant, employee_id)
);

-- One row per mutation confsync attempted (or staged), whatever its outcome.
create table directory.changes (
    id           bigint generated always as identity primary key,
    tenant       text not null default 'default',
    run_id       bigint,
    target       text not null check (target in ('cloudroom', 'aliyun')),
    action       text not null,
    object       text not null,
    request_id   text,
    outcome      text not null check (outcome in ('ok', 'failed', 'staged', 'skipped')),
    vendor_code  text,
    message      text,
    at           timestamptz not null default now()
);
create index changes_tenant_at on directory.changes (tenant, at desc);

-- Deletes held back because there were more than directory.max_deletes;
-- replaced by every apply, emptied when they are executed.
create table directory.staged_deletes (
    tenant     text not null default 'default',
    target     text not null,
    kind       text not null check (kind in ('user', 'department')),
    object     text not null,
    staged_at  timestamptz not null default now(),
    primary key (tenant, target, kind, object)
);
