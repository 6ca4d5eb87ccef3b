"""PII columns become HMAC-SHA256(key, value) hex digests before any row is staged.

The HMAC runs inside DuckDB (RFC 2104 over its `sha256`):
`HMAC(K, m) = H((K ^ opad) || unhex(H((K ^ ipad) || m)))`, with K padded to the 64-byte block.
The two padded keys live in a temporary table filled through query parameters, so the key
never appears in SQL text (which DuckDB may echo in error messages). Temporary objects live
in memory, never in the warehouse file.

Values are normalised before hashing (trimmed; an integral float such as 17850.0 becomes
"17850") so that the same customer hashes the same way whether a file stored the id as text,
integer or float. A missing value stays missing (NULL), so "no customer" is still detected.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb

from ltv.settings import require_pii_key

HMAC_MACRO = "__ltv_hmac"
_KEY_TABLE = "__ltv_pii_key"
_BLOCK = 64  # SHA-256 block size in bytes


def text_sql(expr: str) -> str:
    """SQL that turns any value into the trimmed text used for ids and hashing (NULL if empty)."""
    return (f"NULLIF(regexp_replace(trim(CAST({expr} AS VARCHAR)), '^(-?[0-9]+)\\.0+$', '\\1'), "
            "'')")


def padded_keys(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def install_hmac(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Define the temporary macro `__ltv_hmac(value)` on `con` for this key."""
    ipad, opad = padded_keys(key)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_KEY_TABLE} (ipad BLOB, opad BLOB)")
    con.execute(f"INSERT INTO {_KEY_TABLE} VALUES (?, ?)", [ipad, opad])
    inner = f"unhex(sha256((SELECT ipad FROM {_KEY_TABLE}) || encode(v)))"
    con.execute(f"CREATE OR REPLACE TEMP MACRO {HMAC_MACRO}(v) AS "
                f"CASE WHEN v IS NULL THEN NULL "
                f"ELSE sha256((SELECT opad FROM {_KEY_TABLE}) || {inner}) END")


def uninstall_hmac(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP MACRO IF EXISTS {HMAC_MACRO}")
    con.execute(f"DROP TABLE IF EXISTS {_KEY_TABLE}")


def hashed_sql(expr: str) -> str:
    """SQL hashing a raw column expression (after `install_hmac`)."""
    return f"{HMAC_MACRO}({text_sql(expr)})"


def hmac_hex(key: bytes, value: str) -> str:
    """Python reference implementation (tests compare the SQL macro against it)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short, non-reversible id of the key: part of an ingest's fingerprint, so re-ingesting
    the same file with another key is a different ingest (its hashes differ)."""
    return hmac_hex(key, "ltv:pii-key-id")[:16]


def resolve_key(pii: tuple[str, ...], pii_key: str | None) -> bytes | None:
    """The HMAC key when PII columns are declared (refusing unsafe keys), else None."""
    if not pii:
        return None
    return require_pii_key(pii_key)
