-- CloudRoom accounts a person left for another account (CloudRoom cannot
-- rename one): written in the same transaction that records the person's
-- new account, removed once the old one's DELETE (after its proof PUT)
-- succeeds or the proof shows it gone. A DELETE that failed is planned
-- again from here, as long as no row of the export claims the account.
create table directory.released_accounts (
    tenant       text not null,
    account      text not null,
    -- The person who held it.
    employee_id  text not null,
    -- The CloudRoom fields last sent for it: what the proof PUT re-sends.
    fields       jsonb,
    released_at  timestamptz not null default now(),
    primary key (tenant, account)
);
