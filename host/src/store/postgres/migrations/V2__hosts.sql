-- Version 2: several hosts share the database.

-- A host is a process running cases (`petrel serve`, `petrel run`, ...).
-- It renews `lease_until` (the database's clock) while it lives; a host
-- whose lease lapsed is dead: another deletes its row and frees what it
-- held. Every transaction of a host locks its own row (FOR KEY SHARE), so
-- once its row is deleted no write of it can commit (fencing).
CREATE TABLE petrel_hosts (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until TIMESTAMPTZ NOT NULL
);

-- host: the host running the case (NULL: none; a live host adopts it).
-- live: not finished (completed, stuck, aborted, ... are not).
ALTER TABLE petrel_cases ADD COLUMN host BIGINT, ADD COLUMN live BOOLEAN NOT NULL DEFAULT true;
CREATE INDEX petrel_cases_unowned ON petrel_cases (id) WHERE live AND host IS NULL;
CREATE INDEX petrel_cases_by_host ON petrel_cases (host) WHERE host IS NOT NULL;

-- lent_to: the host whose memory holds a shared token (NULL: none; a host
-- that needs it borrows it). held_by now also marks every shared token a
-- reservation holds, so a dead host's reserved shared tokens go with its
-- cases and are never lent to another.
ALTER TABLE petrel_tokens ADD COLUMN lent_to BIGINT;
CREATE INDEX petrel_tokens_held ON petrel_tokens (held_by) WHERE held_by IS NOT NULL;
CREATE INDEX petrel_tokens_lent ON petrel_tokens (lent_to) WHERE lent_to IS NOT NULL;

-- The case a reservation belongs to (a host adopting a case takes them).
ALTER TABLE petrel_reservations ADD COLUMN case_id TEXT COLLATE "C";
CREATE INDEX petrel_reservations_by_case ON petrel_reservations (case_id);

-- Hosts waiting for shared tokens of a net version that others hold.
CREATE TABLE petrel_wants (
    version TEXT COLLATE "C" NOT NULL,
    host    BIGINT NOT NULL,
    PRIMARY KEY (version, host)
);
