"""Credit balances and the append-only ledger of charges."""

from __future__ import annotations

import sqlite3

from .errors import InsufficientCredits


def to_cents(credits: float) -> int:
    return round(credits * 100)


def balance(conn: sqlite3.Connection, org_id: str) -> float:
    row = conn.execute("SELECT balance_cents FROM orgs WHERE org_id = ?", (org_id,)).fetchone()
    return 0.0 if row is None else int(row[0]) / 100


def charge(
    conn: sqlite3.Connection, org_id: str, credits: float, reason: str, ref: str, now: float
) -> float:
    """Deduct `credits` inside the caller's transaction; return the remaining balance.

    Raises `InsufficientCredits` (HTTP 402) without touching the balance when it is short.
    """
    cents = to_cents(credits)
    current = balance(conn, org_id)
    if cents > to_cents(current):
        raise InsufficientCredits(required=cents / 100, balance=current)
    if cents:
        conn.execute(
            "UPDATE orgs SET balance_cents = balance_cents - ? WHERE org_id = ?", (cents, org_id)
        )
        conn.execute(
            "INSERT INTO ledger (org_id, amount_cents, reason, ref, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (org_id, -cents, reason, ref, now),
        )
    return balance(conn, org_id)
