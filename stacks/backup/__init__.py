"""Backups and restores of a stack's runtime database (the seed's 30-day pg_dump routine).

`model` holds what the verbs report; `archive` the local backup folder (names, checksums,
retention, verification); `pg` the pg_dump / pg_restore runs and the database swap; `local`
the local target's backup and restore; `operations` the target-neutral entry points the CLI calls.
"""
