-- Company creates whose answer was lost (a timeout, a broken answer, a
-- gateway's error): the POST may have made the company. It is not sent
-- again. `confsync companies apply` settles it by itself when a PUT of its
-- name succeeds (only an existing company takes one); otherwise a person
-- looks in CloudRoom's console and runs `confsync companies settle`.
create table confsync.uncertain_companies (
    comp_guid   text primary key,
    tenant      text not null,
    comp_name   text not null,
    admin       text not null,
    admin_name  text not null,
    -- X-CR-RequestId of the POST, for CloudRoom's support.
    request_id  text,
    at          timestamptz not null default now()
);
