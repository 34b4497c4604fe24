"""Reading and writing the tables data scientists hand to the classifier: CSV, JSONL, XLSX."""

from pathlib import Path

import polars as pl

READABLE = (".csv", ".jsonl", ".ndjson", ".xlsx")
WRITABLE = (".csv", ".jsonl", ".ndjson")


def read_table(path: Path) -> pl.DataFrame:
    """The file as a frame, every column as text (so ids and codes keep their spelling)."""
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if suffix in (".jsonl", ".ndjson"):
            frame = pl.read_ndjson(path)
            return frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t != pl.String)
        if suffix == ".xlsx":
            return pl.read_excel(path, infer_schema_length=0)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None
    raise ValueError(f"{path.name}: unsupported format (use one of {', '.join(READABLE)})")


def write_table(frame: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise ValueError(f"{path.name}: unsupported output format (use one of {', '.join(WRITABLE)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_ndjson(path)


def require_columns(frame: pl.DataFrame, columns: dict[str, str | None], source: str) -> None:
    """``columns``: {what it is: column name or None}; raises naming the first missing one."""
    for what, name in columns.items():
        if name is not None and name not in frame.columns:
            raise ValueError(f"{source} has no {what} column {name!r} (columns: {', '.join(frame.columns)})")
