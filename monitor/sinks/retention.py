"""Retention of the local store: runs older than `store.retention_days` go, with their frames and events."""

import sqlite3


def prune_runs(db: sqlite3.Connection, *, older_than: float) -> int:
    """Delete, in one transaction, every run whose last frame (wall-clock epoch) is before `older_than`;
    the number of runs deleted. `db` is in autocommit mode (isolation_level None), as the store opens it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        old = [
            (r[0],)
            for r in db.execute("SELECT run FROM runs WHERE started_at + last_time_s < ?", (older_than,))
        ]
        for table in ("frames", "events", "runs"):
            db.executemany(f"DELETE FROM {table} WHERE run = ?", old)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(old)
