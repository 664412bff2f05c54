-- A space's own look (issue 13 §5): an optional accent colour and an optional logo, set by
-- its administrators in the space's settings (spaces/brand.py says what is accepted).
--
-- The colour is `#rrggbb` (lowercase); the application refuses one too light to keep AA
-- contrast on white. The logo's bytes live in their own table, so that the space's row,
-- which every page of the space loads (`SELECT s.*`), stays small: the row carries only the
-- logo's digest (SHA-256 of its bytes, hex), which says there is one and versions its address.

ALTER TABLE spaces
    ADD COLUMN accent_colour text
        CONSTRAINT spaces_accent_colour_format CHECK (accent_colour ~ '^#[0-9a-f]{6}$'),
    ADD COLUMN logo_digest text
        CONSTRAINT spaces_logo_digest_format CHECK (logo_digest ~ '^[0-9a-f]{64}$');

-- Only raster images a browser shows without running anything: PNG, JPEG, WebP (never SVG,
-- which can carry scripts), at most 200 KB, each beginning as its type says (magic bytes).
CREATE TABLE space_logos (
    space_id     bigint PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE,
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    image        bytea NOT NULL CHECK (octet_length(image) BETWEEN 1 AND 204800),
    digest       text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (space_id, digest),
    CONSTRAINT space_logos_magic_bytes CHECK (
        (content_type = 'image/png' AND substring(image FROM 1 FOR 8) = '\x89504e470d0a1a0a'::bytea)
        OR (content_type = 'image/jpeg' AND substring(image FROM 1 FOR 3) = '\xffd8ff'::bytea)
        OR (content_type = 'image/webp' AND substring(image FROM 1 FOR 4) = '\x52494646'::bytea
            AND substring(image FROM 9 FOR 4) = '\x57454250'::bytea)
    )
);

-- The digest a space shows is that of its stored logo: a page never links a missing image.
ALTER TABLE spaces
    ADD CONSTRAINT spaces_logo_fkey
        FOREIGN KEY (id, logo_digest) REFERENCES space_logos (space_id, digest);
