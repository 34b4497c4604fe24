"""A restatement as a manager and an auditor read it: which figures changed, old → new, and why."""

from typing import Any

from transforms.review.format import format_value, label
from transforms.review.snapshot import Restatement


def _row(row_key: str) -> str:
    return " · ".join(part for part in row_key.split("|") if part)


def restatement_view(restatement: Restatement | None) -> dict[str, Any] | None:
    if restatement is None:
        return None
    return {
        "previous_version": restatement.previous_version,
        "reason": restatement.reason,
        "changes": [
            {
                "table": c.table,
                "row": _row(c.row_key),
                "figure": label(c.column),
                "old": format_value(c.column, c.old),
                "new": format_value(c.column, c.new),
            }
            for c in restatement.changes
        ],
        "added_rows": [f"{t}: {_row(k)}" for t, k in restatement.added_rows],
        "removed_rows": [f"{t}: {_row(k)}" for t, k in restatement.removed_rows],
        "new_batches": list(restatement.new_batches),
        "dropped_batches": list(restatement.dropped_batches),
        "config_changes": list(restatement.config_changes),
        "code_change": restatement.code_change,
        "builds": (restatement.previous_build_run_id, restatement.build_run_id),
    }


def restatement_lines(restatement: Restatement | None) -> list[str]:
    """Plain text for the CLI: one line per changed figure and per cause."""
    view = restatement_view(restatement)
    if view is None:
        return []
    lines = [
        f"Пересчёт относительно версии {view['previous_version']}" + (f": {view['reason']}" if view["reason"] else "")
    ]
    lines += [f"  {c['table']} [{c['row']}] {c['figure']}: {c['old']} → {c['new']}" for c in view["changes"]]
    lines += [f"  новая строка {r}" for r in view["added_rows"]]
    lines += [f"  строки больше нет {r}" for r in view["removed_rows"]]
    if not (view["changes"] or view["added_rows"] or view["removed_rows"]):
        lines.append("  показатели не изменились")
    lines.append(f"Причины (сборка {view['builds'][0]} → {view['builds'][1]}):")
    lines += [
        f"  новый пакет {b['batch_id']} ({b['source_file']}, загружен {b['loaded_at']})" for b in view["new_batches"]
    ]
    lines += [f"  пакета больше нет во входах: {b}" for b in view["dropped_batches"]]
    lines += [f"  изменена конфигурация {name}" for name in view["config_changes"]]
    if view["code_change"]:
        lines.append(f"  другая версия кода: {view['code_change'][0]} → {view['code_change'][1]}")
    if not (view["new_batches"] or view["dropped_batches"] or view["config_changes"] or view["code_change"]):
        lines.append("  входы, конфигурация и код те же")
    return lines
