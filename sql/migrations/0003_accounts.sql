-- People, their sign-in sessions, single-use links, API tokens, and rate-limit counters.

CREATE TABLE users (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email              text NOT NULL CHECK (email = lower(email) AND length(email) <= 254
                                           AND email ~ '^[^@\s]+@[^@\s]+$'),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    password_hash      text,
    locale             text NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
    is_instance_admin  boolean NOT NULL DEFAULT false,
    email_confirmed_at timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- A session is known by the SHA-256 of its cookie's token. It ends when idle too long or at
-- its absolute expiry, whichever comes first.
CREATE TABLE sessions (
    id           bytea PRIMARY KEY CHECK (length(id) = 32),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Single-use links sent by email: password reset, email confirmation, email change.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('reset_password', 'confirm_email', 'change_email')),
    new_email  text CHECK ((purpose = 'change_email') = (new_email IS NOT NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);

-- Personal tokens for the JSON API (Authorization: Bearer), shown once, kept hashed.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC);

CREATE TABLE rate_limits (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);

-- A person as the application sees them (no password hash).
CREATE VIEW user_accounts AS
SELECT id, email, name, locale, is_instance_admin,
       email_confirmed_at IS NOT NULL AS email_confirmed
FROM users;
