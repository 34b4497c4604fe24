"""Reviewers' verdict files (XLSX or CSV) read and checked against the drawn samples, pure.

A file is refused as a whole when any row is wrong, with every problem in one message: a verdict
file is small, and half an import would leave the reviewers unsure which verdicts count.
Rows with no verdict yet are skipped (a reviewer may import what is done so far).

Beside pass / fail the head may grade the case's closing comment for clarity (``clarity_score``):
a whole number 1 (unclear) to 5 (clear), or blank. The column is optional.
"""

import re
from pathlib import Path

import polars as pl

from transforms.qa.config import SamplingRules

VERDICT_COLUMNS: dict[str, pl.DataType] = {
    "sample_month": pl.Date(),
    "case_id": pl.String(),
    "verdict": pl.String(),  # pass | fail
    "reviewer": pl.String(),
    "comment": pl.String(),
    "clarity_score": pl.Int8(),  # 1 (unclear) … 5 (clear); null: not graded
}
REQUIRED = ("case_id", "verdict")
OPTIONAL = ("reviewer", "comment", "clarity_score")
CLARITY_SCORES = range(1, 6)
# A whole number as a spreadsheet or a CSV may write it: "4", " 4 ", "4.0"
_CLARITY = re.compile(r"([0-9]+)(?:[.,]0+)?")
MAX_PROBLEMS_SHOWN = 5


class VerdictFileError(ValueError):
    """The verdict file cannot be imported; the message lists what is wrong, row by row."""


def read_verdict_file(path: Path) -> pl.DataFrame:
    """Every cell as text, header names lower-cased; rows numbered as a spreadsheet shows them."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise VerdictFileError(f"no verdict file at {path}")
    try:
        if suffix == ".xlsx":
            frame = pl.read_excel(path, infer_schema_length=0)
        elif suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        else:
            raise VerdictFileError(f"{path.name}: verdicts are read from .xlsx or .csv, not {suffix or 'no extension'}")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise VerdictFileError(f"{path.name} cannot be read: {str(exc).splitlines()[0]}") from exc
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    return frame.with_columns(pl.all().cast(pl.String)).with_row_index("row", offset=2)


def clarity_score(text: str | None) -> int | None:
    """The clarity grade typed in a cell: None when blank; ValueError unless a whole number 1–5."""
    if text is None or not text.strip():
        return None
    match = _CLARITY.fullmatch(text.strip())
    if match is None or int(match.group(1)) not in CLARITY_SCORES:
        raise ValueError(f"bad clarity_score {text!r} (expected a whole number 1–5, or blank)")
    return int(match.group(1))


def parse_verdicts(frame: pl.DataFrame, samples: pl.DataFrame, *, rules: SamplingRules, name: str) -> pl.DataFrame:
    """The file's filled-in verdicts (``VERDICT_COLUMNS``), each matched to its sample.

    Args:
        frame: ``read_verdict_file`` output.
        samples: every drawn sample row (sample_month, case_id).
        rules: the verdict spellings.
        name: the file name, for messages.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise VerdictFileError(f"{name}: missing column(s) {missing}; the export has case_id and verdict")
    for optional in OPTIONAL:
        if optional not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(optional))
    filled = frame.with_columns(pl.col("case_id", "verdict").str.strip_chars()).filter(
        pl.col("verdict").fill_null("") != ""
    )
    problems: list[str] = []
    month_of = dict(samples.select("case_id", "sample_month").iter_rows())
    seen: dict[str, int] = {}
    rows = []
    for row in filled.iter_rows(named=True):
        case_id, where = row["case_id"] or "", f"row {row['row']}"
        verdict = rules.verdict_of(row["verdict"])
        if not case_id:
            problems.append(f"{where}: no case_id")
        elif case_id in seen:
            problems.append(f"{where}: duplicate case {case_id} (also row {seen[case_id]})")
        elif case_id not in month_of:
            problems.append(f"{where}: unknown case {case_id} (not in any drawn sample)")
        if verdict is None:
            problems.append(f"{where}: bad verdict {row['verdict']!r} (expected pass or fail)")
        try:
            clarity = clarity_score(row["clarity_score"])
        except ValueError as error:
            problems.append(f"{where}: {error}")
            clarity = None
        seen.setdefault(case_id, row["row"])
        rows.append({**row, "verdict": verdict, "clarity_score": clarity, "sample_month": month_of.get(case_id)})
    if problems:
        more = f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise VerdictFileError(f"{name}: {'; '.join(problems[:MAX_PROBLEMS_SHOWN])}{more}")
    return (
        pl.DataFrame(rows, schema_overrides=VERDICT_COLUMNS).select(
            [pl.col(c).cast(t) for c, t in VERDICT_COLUMNS.items()]
        )
        if rows
        else pl.DataFrame(schema=VERDICT_COLUMNS)
    )
