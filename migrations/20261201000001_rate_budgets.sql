-- Request budgets learned from 429 answers where the vendor document states
-- no limit (or a lower one than it states), kept so that a daemon does not
-- relearn them at every tick or restart.
create table confsync.rate_budgets (
    tenant      text        not null,
    vendor      text        not null,
    endpoint    text        not null,
    per_minute  integer     not null check (per_minute > 0),
    paced       boolean     not null default false,
    updated_at  timestamptz not null default now(),
    primary key (tenant, vendor, endpoint)
);
