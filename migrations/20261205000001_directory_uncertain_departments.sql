-- Department creates whose answer was lost (a timeout, a broken answer, the
-- server's own error): the POST may have made the department, and CloudRoom
-- cannot list departments to find it. It is not sent again until a person
-- settles it (`confsync directory settle`), so a lost answer never makes a
-- duplicate department.
create table directory.uncertain_departments (
    tenant      text not null,
    key         text not null,
    name        text not null,
    parent_key  text,
    path        text not null,
    -- X-CR-RequestId of the POST, for CloudRoom's support.
    request_id  text,
    run_id      bigint,
    at          timestamptz not null default now(),
    primary key (tenant, key)
);
