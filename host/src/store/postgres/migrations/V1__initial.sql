-- Petrel's store on PostgreSQL, version 1. Records are MessagePack, as in
-- the sled store; columns hold what queries select or order by. Text keys
-- are compared byte by byte (COLLATE "C"), as sled orders its keys.

-- Fresh ids: a host takes a block of 1024 (token seqs, firing ids); a log
-- entry takes one value while its transaction holds the log lock, so log
-- seqs increase in commit order, and a fresh block's first id is above
-- every seq stored before.
CREATE SEQUENCE petrel_ids START WITH 1 INCREMENT BY 1024;

CREATE TABLE petrel_nets (
    version  TEXT COLLATE "C" PRIMARY KEY,
    name     TEXT COLLATE "C" NOT NULL,
    deployed BIGSERIAL NOT NULL,
    record   BYTEA NOT NULL
);
CREATE INDEX petrel_nets_by_name ON petrel_nets (name, deployed DESC);

-- Components by content hash: any host runs any deployed version.
CREATE TABLE petrel_components (
    hash  TEXT COLLATE "C" PRIMARY KEY,
    bytes BYTEA NOT NULL
);

CREATE TABLE petrel_cases (
    id            TEXT COLLATE "C" PRIMARY KEY,
    started_at_ms BIGINT NOT NULL,
    record        BYTEA NOT NULL
);
CREATE INDEX petrel_cases_newest ON petrel_cases (started_at_ms DESC, id DESC);

-- owner: `c:<case id>` or `s:<net version>`. held_by: the firing whose
-- reservation holds the token as its first input (one at a time).
CREATE TABLE petrel_tokens (
    owner   TEXT COLLATE "C" NOT NULL,
    place   TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    held_by BIGINT,
    PRIMARY KEY (owner, place, seq)
);

CREATE TABLE petrel_reservations (
    firing BIGINT PRIMARY KEY,
    record BYTEA NOT NULL
);

CREATE TABLE petrel_dead_letters (
    id      BIGINT PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    record  BYTEA NOT NULL
);
CREATE INDEX petrel_dead_letters_by_case ON petrel_dead_letters (case_id, id);

CREATE TABLE petrel_events (
    seq     BIGINT PRIMARY KEY,
    case_id TEXT COLLATE "C",
    record  BYTEA NOT NULL
);
CREATE INDEX petrel_events_by_case ON petrel_events (case_id, seq);
