"""Numbers, dates and column names the Russian way, for every review page and workbook."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MONTHS_NOMINATIVE = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"

# Column names of the marts and review tables as a manager reads them. A column not listed here is
# shown under its own name, so a new mart column appears at once and gets its label later.
LABELS = {
    "report_month": "Месяц",
    "directorate_id": "Дирекция (код)",
    "directorate_name": "Дирекция",
    "feedback_type_id": "Тип обратной связи (код)",
    "feedback_type_label": "Тип обратной связи",
    "sla_policy_id": "Политика SLA",
    "case_id": "Обращение CRM",
    "manager_id": "Менеджер",
    "items_count": "Обращений",
    "previous_items_count": "Обращений неделей ранее",
    "complaints_count": "Жалоб",
    "previous_complaints_count": "Жалоб неделей ранее",
    "complaints_change": "Изменение жалоб",
    "customers_count": "Клиентов",
    "channels_count": "Каналов",
    "wishes_count": "Пожеланий",
    "thanks_count": "Благодарностей",
    "questions_count": "Вопросов",
    "unclassified_count": "Не классифицировано",
    "complaint_share": "Доля жалоб",
    "conversation_repeats_count": "Повторы в других каналах",
    "nps": "NPS",
    "nps_answers_count": "Ответов NPS",
    "promoters_count": "Промоутеров",
    "passives_count": "Нейтральных",
    "detractors_count": "Критиков",
    "nps_ci_low": "NPS, 95 % ДИ от",
    "nps_ci_high": "NPS, 95 % ДИ до",
    "is_nps_small_sample": "Мало ответов NPS",
    "csat": "CSAT",
    "csat_answers_count": "Ответов CSAT",
    "csat_satisfied_count": "Оценок 4–5",
    "sla_close_24h_measured_count": "Закрытие за 24 ч: оценено",
    "sla_close_24h_achieved_count": "Закрытие за 24 ч: в срок",
    "sla_close_24h_breached_count": "Закрытие за 24 ч: нарушений",
    "sla_close_24h_compliance_rate": "Закрыто за 24 ч",
    "sla_first_contact_1h_measured_count": "Контакт за 1 ч: оценено",
    "sla_first_contact_1h_achieved_count": "Контакт за 1 ч: в срок",
    "sla_first_contact_1h_breached_count": "Контакт за 1 ч: нарушений",
    "sla_first_contact_1h_compliance_rate": "Контакт за 1 ч",
    "sla_measured_count": "SLA: оценено",
    "sla_breached_count": "SLA: нарушений",
    "measured_count": "Оценено",
    "breached_count": "Нарушений",
    "achieved_count": "В срок",
    "compliance_rate": "Соблюдение SLA",
    "orders_count": "Заказов",
    "complaints_per_1000_orders": "Жалоб на 1 000 заказов",
    "reopened_in_week_count": "Переоткрыто за неделю",
    "reopened_count": "Переоткрыто всего",
    "is_open": "Открыто",
    "opened_local": "Открыто (местное время)",
    "body_text": "Текст (персональные данные скрыты)",
    "is_company_total": "Итог по компании",
}


def label(column: str) -> str:
    return LABELS.get(column, column)


def _group(digits: str) -> str:
    return f"{int(digits):,}".replace(",", NBSP)


def format_int(value: int | None) -> str:
    """1234567 → '1 234 567' (non-breaking spaces); negatives with a minus sign."""
    if value is None:
        return DASH
    return f"{MINUS if value < 0 else ''}{_group(str(abs(value)))}"


def format_decimal(value: float | None, digits: int = 1) -> str:
    """41.25 → '41,3' (half up, as people round); -12.5 → '−12,5'; 1234.5 → '1 234,5'."""
    if value is None:
        return DASH
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    text = _group(whole) + (f",{fraction}" if fraction else "")
    return f"{MINUS}{text}" if rounded < 0 else text


def format_percent(rate: float | None, digits: int = 1) -> str:
    """A 0–1 rate as '92,5 %'."""
    return DASH if rate is None else f"{format_decimal(rate * 100, digits)}{NBSP}%"


def month_title(month: date) -> str:
    return f"{MONTHS_NOMINATIVE[month.month - 1]} {month.year}"


def is_rate(column: str) -> bool:
    return column.endswith(("_rate", "_share")) or column == "csat"


def format_value(column: str, value: Any) -> str:
    """Any cell of a review table, by what its column holds."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int):
        return format_int(value)
    if isinstance(value, float):
        return format_percent(value) if is_rate(column) else format_decimal(value)
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return str(value)
