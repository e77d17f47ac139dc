"""The database's schema as numbered migrations, applied in order, each in a transaction.

``PRAGMA user_version`` is the schema version: the number of migrations applied. A migration is
history: once shipped it never changes; a new table or column is a new step at the end. The
CHECK constraints bound every value (types, lengths, array shapes), so rows merged from an
archive of another box obey the same limits as the box's own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int  # the schema version once applied
    what: str
    statements: tuple[str, ...]


def _array_check(name: str) -> str:
    """A table CHECK: ``name`` is NULL with its shape, or float32 bytes matching a 1-D or 2-D
    shape of non-negative integers (at most 8 MB)."""
    shape = f"{name}_shape"
    return f"""CHECK (({name} IS NULL AND {shape} IS NULL) OR (
        typeof({name}) = 'blob' AND length({name}) <= 8388608
        AND typeof({shape}) = 'text' AND length({shape}) <= 64 AND json_valid({shape})
        AND json_type({shape}) = 'array' AND json_array_length({shape}) BETWEEN 1 AND 2
        AND json_type({shape}, '$[0]') = 'integer' AND json_extract({shape}, '$[0]') >= 0
        AND (json_array_length({shape}) = 1 OR (json_type({shape}, '$[1]') = 'integer'
             AND json_extract({shape}, '$[1]') >= 0))
        AND length({name}) = 4 * json_extract({shape}, '$[0]')
                               * ifnull(json_extract({shape}, '$[1]'), 1)))"""


def _json_check(name: str, kind: str) -> str:
    return (
        f"CHECK (typeof({name}) = 'text' AND length({name}) <= 16000 AND json_valid({name}) "
        f"AND json_type({name}) = '{kind}')"
    )


# The helpers below write migration 1's text: changing them would change a shipped migration.
# A later step writes its own SQL.
_ID = "TEXT PRIMARY KEY NOT NULL CHECK (typeof({0}) = 'text' AND length({0}) BETWEEN 1 AND 64)"
_TIME = "REAL NOT NULL CHECK (typeof({0}) IN ('real', 'integer'))"


def _text(name: str, longest: int) -> str:
    return f"{name} TEXT NOT NULL DEFAULT '' CHECK (typeof({name}) = 'text' AND length({name}) <= {longest})"  # noqa: E501


def _ref(name: str, parent: str, on_delete: str) -> str:
    return (
        f"{name} TEXT REFERENCES {parent} ON DELETE {on_delete} "
        f"CHECK ({name} IS NULL OR (typeof({name}) = 'text' AND length({name}) <= 200))"
    )


# Migration 1 (the first release): everything but raw audio.
_V1 = (
    f"""CREATE TABLE pieces (
        id TEXT PRIMARY KEY NOT NULL CHECK (typeof(id) = 'text' AND length(id) BETWEEN 1 AND 200),
        {_text("title", 500)},
        {_text("composer", 500)},
        {_text("source_sha256", 64)},
        added {_TIME.format("added")})""",
    f"""CREATE TABLE model_versions (
        version TEXT PRIMARY KEY NOT NULL
            CHECK (typeof(version) = 'text' AND length(version) BETWEEN 1 AND 100),
        {_text("sha256", 64)},
        created {_TIME.format("created")},
        active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)))""",
    "CREATE UNIQUE INDEX one_active_model ON model_versions (active) WHERE active = 1",
    f"""CREATE TABLE sessions (
        id {_ID.format("id")},
        started {_TIME.format("started")},
        ended REAL CHECK (ended IS NULL OR typeof(ended) IN ('real', 'integer')))""",
    f"""CREATE TABLE profiles (
        device_id {_ID.format("device_id")},
        {_text("name", 100)},
        created {_TIME.format("created")})""",
    f"""CREATE TABLE performances (
        piece_id TEXT NOT NULL REFERENCES pieces ON DELETE CASCADE,
        id {_ID.format("id")},
        {_ref("session_id", "sessions", "CASCADE")},
        {_ref("profile_id", "profiles", "SET NULL")},
        seed INTEGER CHECK (seed IS NULL OR typeof(seed) = 'integer'),
        latents BLOB,
        latents_shape TEXT,
        directions TEXT NOT NULL {_json_check("directions", "array")},
        {_ref("model_version", "model_versions", "SET NULL")},
        started {_TIME.format("started")},
        {_array_check("latents")})""",
    f"""CREATE TABLE feedback (
        {_text("kind", 40)},
        {_ref("performance_id", "performances", "CASCADE")},
        {_ref("profile_id", "profiles", "CASCADE")},
        rating REAL CHECK (rating IS NULL OR typeof(rating) IN ('real', 'integer')),
        aspects TEXT NOT NULL {_json_check("aspects", "object")},
        bar INTEGER NOT NULL DEFAULT 0 CHECK (typeof(bar) = 'integer'),
        seconds {_TIME.format("seconds")},
        at {_TIME.format("at")},
        id {_ID.format("id")})""",
    f"""CREATE TABLE directions_applied (
        {_text("text", 2000)},
        source TEXT NOT NULL CHECK (source IN ('speech', 'face', 'button', 'text')),
        directions TEXT NOT NULL {_json_check("directions", "array")},
        {_ref("performance_id", "performances", "CASCADE")},
        {_ref("profile_id", "profiles", "CASCADE")},
        bar INTEGER NOT NULL DEFAULT 0 CHECK (typeof(bar) = 'integer'),
        at {_TIME.format("at")},
        id {_ID.format("id")})""",
    f"""CREATE TABLE utterances (
        {_text("text", 2000)},
        {_text("language", 16)},
        intents TEXT NOT NULL {_json_check("intents", "array")},
        embedding BLOB,
        embedding_shape TEXT,
        {_ref("session_id", "sessions", "CASCADE")},
        {_ref("profile_id", "profiles", "CASCADE")},
        at {_TIME.format("at")},
        id {_ID.format("id")},
        {_array_check("embedding")})""",
    f"""CREATE TABLE face_readings (
        blendshapes BLOB NOT NULL,
        blendshapes_shape TEXT NOT NULL,
        yaw {_TIME.format("yaw")},
        pitch {_TIME.format("pitch")},
        roll {_TIME.format("roll")},
        {_ref("performance_id", "performances", "CASCADE")},
        {_ref("profile_id", "profiles", "CASCADE")},
        at {_TIME.format("at")},
        id {_ID.format("id")},
        {_array_check("blendshapes")})""",
)

# Migration 2: raw talk recordings (kept only when a setting asks), and the indexes retention
# and forgetting go by.
_V2 = (
    f"""CREATE TABLE audio_clips (
        samples BLOB NOT NULL CHECK (typeof(samples) = 'blob' AND length(samples) <= 1920000),
        sample_rate INTEGER NOT NULL CHECK (sample_rate BETWEEN 4000 AND 192000),
        {_ref("utterance_id", "utterances", "CASCADE")},
        {_ref("profile_id", "profiles", "CASCADE")},
        at {_TIME.format("at")},
        id {_ID.format("id")})""",
    *(
        f"CREATE INDEX {table}_{column} ON {table} ({column})"
        for table, columns in (
            ("sessions", ("started",)),
            ("performances", ("started", "session_id", "profile_id", "piece_id")),
            ("feedback", ("at", "performance_id", "profile_id")),
            ("directions_applied", ("at", "performance_id", "profile_id")),
            ("utterances", ("at", "session_id", "profile_id")),
            ("face_readings", ("at", "performance_id", "profile_id")),
            ("audio_clips", ("at", "utterance_id", "profile_id")),
        )
        for column in columns
    ),
)

# Migration 3: listeners' tastes (learnt at once from feedback), one per profile and the room's
# (owner "room": not a reference, so a profile's taste is removed by forgetting explicitly).
_V3 = (
    """CREATE TABLE tastes (
        owner TEXT PRIMARY KEY NOT NULL
            CHECK (typeof(owner) = 'text' AND length(owner) BETWEEN 1 AND 64),
        levels TEXT NOT NULL CHECK (typeof(levels) = 'text' AND length(levels) <= 16000
            AND json_valid(levels) AND json_type(levels) = 'object'),
        updated REAL NOT NULL CHECK (typeof(updated) IN ('real', 'integer')))""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the tables", _V1),
    Migration(2, "raw audio clips, indexes", _V2),
    Migration(3, "listeners' tastes", _V3),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0: empty)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> list[int]:
    """Apply the migrations the database lacks, up to ``upto``, each in its own transaction
    (a failure leaves the database at the last complete version); the versions applied.
    ``conn`` must be in autocommit mode (``isolation_level=None``)."""
    applied = []
    for step in MIGRATIONS:
        if step.version > upto:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= step.version:  # another process got there first
                conn.execute("ROLLBACK")
                continue
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(step.version)
    return applied
