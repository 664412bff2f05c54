-- Live meetings (séances): an agenda run by a facilitator, attendance, the speaking order
-- and timers everyone sees, minutes at the end.

CREATE TABLE meetings (
    id             bigserial PRIMARY KEY,
    space_id       bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    title          text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    starts_at      timestamptz NOT NULL,
    duration_min   integer NOT NULL DEFAULT 120 CHECK (duration_min BETWEEN 5 AND 1440),
    place          text NOT NULL DEFAULT '' CHECK (length(place) <= 300),
    video_url      text NOT NULL DEFAULT '' CHECK (video_url = '' OR video_url ~ '^https?://'),
    facilitator_id bigint NOT NULL REFERENCES users (id),
    secretary_id   bigint REFERENCES users (id),
    state          text NOT NULL DEFAULT 'planned' CHECK (state IN ('planned', 'open', 'closed')),
    current_item   integer,            -- position of the agenda item under way
    opened_at      timestamptz,
    closed_at      timestamptz,
    -- The speaking order: the circle of those present, starting from a chosen person.
    speakers       bigint[] NOT NULL DEFAULT '{}',
    speaker_index  integer,            -- whose turn it is (index into speakers)
    passed         bigint[] NOT NULL DEFAULT '{}',  -- who passed their turn in this circle
    -- Timers: a length in seconds; running since started_at, or paused with `left` seconds.
    speaker_seconds integer NOT NULL DEFAULT 120 CHECK (speaker_seconds BETWEEN 5 AND 3600),
    speaker_started timestamptz,
    speaker_left    integer,
    round_seconds   integer NOT NULL DEFAULT 900 CHECK (round_seconds BETWEEN 5 AND 14400),
    round_started   timestamptz,
    round_left      integer,
    minutes_notes   text NOT NULL DEFAULT '' CHECK (length(minutes_notes) <= 20000),
    minutes_published_at timestamptz,
    revision       integer NOT NULL DEFAULT 0,
    created_by     bigint NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'planned') = (opened_at IS NULL)),
    CHECK ((state = 'closed') = (closed_at IS NOT NULL)),
    CHECK (minutes_published_at IS NULL OR state = 'closed')
);
CREATE INDEX meetings_space_idx ON meetings (space_id, starts_at DESC, id DESC);

CREATE TABLE agenda_items (
    meeting_id  bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 1),
    kind        text NOT NULL CHECK (kind IN ('proposal', 'information')),
    title       text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    proposal_id bigint REFERENCES proposals (id),
    notes       text NOT NULL DEFAULT '' CHECK (length(notes) <= 5000),
    started_at  timestamptz,
    ended_at    timestamptz,
    PRIMARY KEY (meeting_id, position),
    CHECK ((kind = 'proposal') = (proposal_id IS NOT NULL))
);
CREATE INDEX agenda_items_proposal_idx ON agenda_items (proposal_id) WHERE proposal_id IS NOT NULL;

CREATE TABLE attendance (
    meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id),
    presence   text NOT NULL DEFAULT 'invited'
               CHECK (presence IN ('invited', 'present', 'remote', 'excused', 'absent')),
    PRIMARY KEY (meeting_id, user_id)
);
CREATE INDEX attendance_user_idx ON attendance (user_id);
