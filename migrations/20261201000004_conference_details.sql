-- What GET conference/{confId} adds to the lists: the host's id, the
-- invitees, co-hosts, attributes, permissions, the join links and the PSTN
-- number. Read for each new or changed conference of the list (its
-- content_hash differs from list_hash) and once for each conference of the
-- meeting history. `available` is false where CloudRoom answered 22201 (no
-- such conference, as it may say of ended ones); such a row is not read
-- again. Passwords and PSTN passwords are left out of `raw` and of the
-- password columns unless cloudroom.keep_meeting_passwords is on.
create table cloudroom.conference_details (
    tenant          text not null default 'default',
    conf_id         bigint not null,
    available       boolean not null,
    subject         text,
    host_id         bigint,
    host_name       text,
    status          integer,
    url             text,
    public_url      text,
    pstn_num        text,
    password        text,
    pstn_password   text,
    schedule_start  timestamptz,
    schedule_end    timestamptz,
    period_type     integer,
    period_end      timestamptz,
    email_notice    integer,
    sms_notice      integer,
    attributes      jsonb,
    permission      jsonb,
    assistants      jsonb,
    -- The conference list's content_hash this detail was read for; null for
    -- a detail read for the meeting history.
    list_hash       bytea,
    read_at         timestamptz not null default now(),
    raw             jsonb,
    primary key (tenant, conf_id)
);

create table cloudroom.conference_invitees (
    tenant        text not null default 'default',
    conf_id       bigint not null,
    invitee_id    bigint not null,
    invitee_name  text,
    -- 0 user, 1 terminal, 2 SIP.
    invitee_type  integer,
    primary key (tenant, conf_id, invitee_id)
);
