"""The Jinja environment and the provenance block shared by every review page."""

from pathlib import Path

import jinja2

from transforms.review.format import format_decimal, format_int, format_percent, format_value
from transforms.review.snapshot import Snapshot

TEMPLATES_DIR = Path(__file__).with_name("templates")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(int=format_int, dec=format_decimal, pct=format_percent, value=format_value)
    return env


def provenance(snapshot: Snapshot) -> dict[str, str]:
    """What the published figures were built from, for the page footer and the workbook."""
    configs = {f"конфигурация {name}": digest or "нет файла" for name, digest in snapshot.config_hashes.items()}
    return {
        "Версия обзора": f"{snapshot.review_id} (версия {snapshot.version})",
        "Опубликовано": f"{snapshot.published_at:%d.%m.%Y %H:%M} UTC",
        "Сборка хранилища": snapshot.build_run_id,
        "Входные пакеты": f"{snapshot.input_batch_count}, sha256 {snapshot.input_batches_hash}",
        "Версия кода": snapshot.code_version or "—",
        **configs,
    }
