-- Spaces (collectives and governance spaces), memberships, invitations, charters, signatures.

-- Space ids start at 1: the journal's chain 0 is for instance-wide events (no space) only.
ALTER TABLE journal ADD CONSTRAINT journal_space_id_positive CHECK (space_id > 0);

CREATE TABLE spaces (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id              bigint REFERENCES spaces (id),
    slug                   text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'
                                                       AND length(slug) BETWEEN 2 AND 60),
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind                   text NOT NULL CHECK (kind IN ('collective', 'governance')),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    -- Settings used by the consent process and the decision register.
    review_delay_months    integer NOT NULL DEFAULT 6 CHECK (review_delay_months BETWEEN 1 AND 60),
    silence_is_consent     boolean NOT NULL DEFAULT false,
    decision_prefix        text NOT NULL CHECK (decision_prefix ~ '^[A-Z0-9]{1,10}$'),
    -- Members of the parent space are members of this one too (role member) when true.
    parent_members_included boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1,
    CHECK (parent_id IS NOT NULL OR NOT parent_members_included)
);
CREATE INDEX spaces_parent_idx ON spaces (parent_id, name);

CREATE TABLE memberships (
    space_id  bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('member', 'facilitator', 'admin')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE invitations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id    bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    email       text NOT NULL CHECK (email = lower(email)),
    role        text NOT NULL CHECK (role IN ('member', 'facilitator', 'admin')),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by bigint REFERENCES users (id),
    revoked_at  timestamptz
);
CREATE INDEX invitations_space_idx ON invitations (space_id, created_at DESC);

CREATE TABLE charters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id   bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    version    integer NOT NULL CHECK (version >= 1),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 50000),
    note       text NOT NULL DEFAULT '',
    created_by bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (space_id, version)
);

-- "Fait à <place>, le <date>, <name>": kept with the charter version signed.
CREATE TABLE charter_signatures (
    charter_id  bigint NOT NULL REFERENCES charters (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    signed_name text NOT NULL CHECK (length(signed_name) BETWEEN 1 AND 100),
    place       text NOT NULL CHECK (length(place) BETWEEN 1 AND 100),
    signed_on   date NOT NULL,
    signed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charter_id, user_id)
);
CREATE INDEX charter_signatures_user_idx ON charter_signatures (user_id);
