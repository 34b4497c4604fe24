"""Runtime settings from the environment, with safe local defaults.

| variable            | default                          | what                                   |
| ------------------- | -------------------------------- | -------------------------------------- |
| OTKLIK_WAREHOUSE    | warehouse/otklik.duckdb          | the DuckDB file, or ducklake:postgres:<dsn> |
| OTKLIK_LAKE_DATA_PATH | the catalog's                  | a DuckLake's data: a folder, s3://b/prefix/ |
| OTKLIK_LAKE_PASSWORD | PGPASSWORD                      | a DuckLake catalog's password (secret)  |
| OTKLIK_S3_ENDPOINT, _KEY_ID, _SECRET |                 | the S3 store of s3:// data (secret)     |
| OTKLIK_WAREHOUSE_LOCK_TIMEOUT | 1800                   | seconds to wait for another process's lock (warehouse/) |
| OTKLIK_MEMORY_LIMIT | DuckDB's (80 % of memory)        | memory per DuckDB connection, e.g. 4GB; spills past it |
| OTKLIK_LANDING      | data/landing                     | where channel exports land             |
| OTKLIK_ARCHIVE      | data/archive                     | every landed file or page, by sha256   |
| OTKLIK_REPORTS      | reports                          | where reviews and Data Docs are written|
| OTKLIK_PII_KEY      | a random key kept in .otklik/    | HMAC key for customer keys (secret)    |

The PII key is a secret: it is never in code or in git. Production sets OTKLIK_PII_KEY (from
a Prefect Secret block or the deployment's environment). A local checkout without it gets a
random key created once in ``.otklik/pii.key`` (git-ignored, mode 0600), so customer keys stay
stable across local runs without anybody choosing a weak key.
"""

import os
import secrets
from pathlib import Path

from warehouse.connection import PROJECT_ROOT


def landing_dir() -> Path:
    return Path(os.environ.get("OTKLIK_LANDING", PROJECT_ROOT / "data" / "landing")).expanduser().resolve()


def archive_dir() -> Path:
    return Path(os.environ.get("OTKLIK_ARCHIVE", PROJECT_ROOT / "data" / "archive")).expanduser().resolve()


def reports_dir() -> Path:
    return Path(os.environ.get("OTKLIK_REPORTS", PROJECT_ROOT / "reports")).expanduser().resolve()


def pii_key() -> bytes:
    configured = os.environ.get("OTKLIK_PII_KEY")
    if configured:
        if len(configured) < 16:
            raise ValueError("OTKLIK_PII_KEY must be at least 16 characters")
        return configured.encode()
    key_file = PROJECT_ROOT / ".otklik" / "pii.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip().encode()
