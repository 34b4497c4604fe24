"""Survey channels: the subscription-expiry survey, SMS replies, the employee pulse (eNPS) and the
close-the-loop final survey, whose answers come from cases the CRM has closed.

Shapes are those channels.yaml describes for each channel (its comments say which are assumed).
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from otklik.sample import texts
from otklik.sample.cases import Case
from otklik.sample.items import item_slots, make_items
from otklik.sample.model import BadRecord, ChannelResult, Context, Item
from otklik.sample.writers import (
    by_day,
    channel_dir,
    csv_bytes,
    iso_seconds,
    json_line,
    jsonl_bytes,
    write_workbook,
)
from transforms.channels import Channel

# ------------------------------------------ licence_expiry_survey (CSV, UTF-8 with a BOM, ";")

LICENCE_HEADER = (
    "ID ответа",
    "Дата заполнения",
    "ID клиента",
    "Подписка",
    "Окончание подписки",
    "Сегмент",
    "Оценка",
    "Что нам улучшить?",
    "Хочу, чтобы со мной связались",
    "Телефон",
    "E-mail",
)
DAYS_BEFORE_EXPIRY = 75  # the survey goes out 75 days before the subscription ends


def write_licence_survey(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 3_100_000, 3_200_000, stride=10**8)
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items).items():
        rows = []
        for item in day_items:
            next_id += rng.randint(1, 9)  # other surveys of the platform share the numbering
            item.source_item_id = str(next_id)
            rows.append(_licence_row(item, rng))
        path = channel_dir(ctx, channel) / f"subscription_survey_{day.isoformat()}.csv"
        path.write_bytes(csv_bytes(LICENCE_HEADER, rows, delimiter=";", lineterminator="\r\n", encoding="utf-8-sig"))
        result.files.append(path)
        result.records += len(rows)
    return result


def _licence_row(item: Item, rng: random.Random) -> list[object]:
    customer = item.customer
    item.extra["licence_ref"] = f"PRO-{2_000_000 + customer.number}"
    answered_after = timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3, 6)))
    expires = (item.at - answered_after + timedelta(days=DAYS_BEFORE_EXPIRY)).date()
    contact = item.contact_requested
    return [
        item.source_item_id,
        item.at.strftime("%d.%m.%Y %H:%M"),
        customer.customer_id,
        item.extra["licence_ref"],
        expires.strftime("%d.%m.%Y"),
        customer.segment,
        item.score,
        item.text,
        "Да" if contact else "",
        texts.phone_as_typed(customer.phone_digits, rng) if (contact and rng.random() < 0.95) else "",
        customer.email if rng.random() < 0.9 else "",
    ]


# -------------------------------------------------- sms_survey_replies (gateway callbacks, JSONL)

SMS_SENDER = "InstrMarket"


def write_sms_survey(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(
        ctx, channel.id, channel.score_scale, bad.get("out_of_range_score", 0), ctx.rng(channel.id, "bad")
    )
    planted_ids = {id(item) for item in planted}
    next_id = ctx.first_id(rng, 771_000_000, 772_000_000, stride=10**9)
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items + planted).items():
        name = f"{channel.id}/incoming_{day.isoformat()}.jsonl"
        lines = []
        for item in sorted(day_items, key=lambda i: i.at):
            next_id += rng.randint(1, 60)  # the gateway's ids count every customer's messages
            item.source_item_id = str(next_id)
            record = _sms_reply(item, rng, planted=id(item) in planted_ids)
            if id(item) in planted_ids:
                result.bad.append(
                    BadRecord(
                        channel.id, "out_of_range_score", name, item.source_item_id, "replied 10 to a 1-5 question"
                    )
                )
            lines.append(json_line(record))
        channel_dir(ctx, channel)
        (ctx.landing_dir / name).write_bytes(jsonl_bytes(lines))
        result.files.append(ctx.landing_dir / name)
        result.records += len(lines)
    return result


def _sms_reply(item: Item, rng: random.Random, *, planted: bool) -> dict[str, object]:
    """Replies are short: a digit, a digit and a few words, now and then words only."""
    words = item.text.split(". ")[0].rstrip(".") if item.text else ""
    item.text = words
    if planted:
        item.score, words = 10, ""  # the customer answered on a 0-10 habit
    elif words and rng.random() < 0.12:
        item.score = None  # "курьер опоздал" without a digit: the survey service finds no score
    score = "" if item.score is None else str(item.score)
    message = " ".join(part for part in (score + rng.choice(("", "", ".", "!")) if score else "", words) if part)
    asked = item.at - timedelta(minutes=rng.uniform(2, 6 * 60))
    return {
        "id": item.source_item_id,
        "phone": f"7{item.customer.phone_digits}",
        "mes": message,
        "to": SMS_SENDER,
        "sent": str(int(asked.timestamp())),
        "time": str(int(item.at.timestamp())),
        "survey": "delivery_csat" if item.topic == "delivery" else "service_csat",
        "score": score,
        "comment": words,
    }


# ------------------------------------------------- employee_pulse_survey (XLSX, anonymous, eNPS)

PULSE_HEADER = (
    "ID анкеты",
    "Дата и время",
    "Подразделение",
    "Стаж",
    "Порекомендуете ли вы компанию как работодателя? (0-10)",
    "Комментарий",
)
TENURE = ("до 1 года", "1-3 года", "3-5 лет", "более 5 лет")


def write_employee_survey(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    teams = [d.name for d in ctx.org.directorates]
    weights = [6 if d.id == "retail" else 3 if d.id == "logistics" else 1 for d in ctx.org.directorates]
    used: set[str] = set()
    weeks: dict[str, list[tuple[Item, list[object]]]] = {}
    for item in items:
        item.no_case, item.topic = True, "employee"  # an employee's answer: no CRM case, no customer topic
        item.text = texts.employee_text(item.kind, rng, item_slots(ctx, item, rng)) if item.kind != "none" else ""
        item.source_item_id = _hex_id(rng, used, ctx.month.number)
        row = [
            item.source_item_id,
            item.at.replace(microsecond=0),
            rng.choices(teams, weights)[0],
            rng.choice(TENURE),
            item.score,
            item.text,
        ]
        year, week, _ = item.at.isocalendar()
        weeks.setdefault(f"{year}-W{week:02d}", []).append((item, row))
    result = ChannelResult(channel.id, items=items)
    for week, entries in sorted(weeks.items()):
        path = channel_dir(ctx, channel) / f"pulse_{week}.xlsx"
        write_workbook(
            path,
            PULSE_HEADER,
            [row for _, row in entries],
            created=datetime(ctx.month.year, ctx.month.month, 1),
            sheet="Ответы",
            widths=(12, 18, 28, 12, 20, 70),
        )
        result.files.append(path)
        result.records += len(entries)
    return result


def _hex_id(rng: random.Random, used: set[str], month: int) -> str:
    """A questionnaire id: the month (since 2020) in three hex digits, then 32 random bits.

    The random part alone is unique within one month's generation only: a 10M history drew the same
    one in two months, and the second answer was quarantined as an id collision. The month makes
    months generated one by one disjoint by construction; ``getrandbits(32)`` draws one word of the
    stream as before, so every other file of a month stays byte for byte what it was."""
    while True:
        value = f"{month:03X}{rng.getrandbits(32):08X}"
        if value not in used:
            used.add(value)
            return value


# ------------------------------------------- ctl_final_survey (JSONL per day, one line per response)

SOLVED_COMMENTS = (
    "Спасибо, вопрос решили быстро.",
    "Специалист перезвонил через 20 минут и всё объяснил.",
    "Всё решили, спасибо за оперативность!",
    "Деньги вернули, спасибо.",
    "Быстро и вежливо, спасибо специалисту.",
)
UNSOLVED_COMMENTS = (
    "Вопрос так и не решён, одни отписки.",
    "Обещали перезвонить и пропали.",
    "Закрыли обращение, а проблема осталась.",
    "Деньги до сих пор не вернули, хотя обращение закрыто.",
    "Пришлось звонить три раза, толку нет.",
)
RESPONSE_RATE = 0.35  # of the closed cases whose customer answers the final survey


@dataclass(frozen=True)
class FinalAnswer:
    """One response to the final survey: both questions and the comment."""

    case: Case
    response_id: str
    at: datetime
    tnps: int
    solved: bool
    kind: str  # of the comment: none / thanks / wish / complaint
    comment: str


def final_survey_answers(ctx: Context, cases: list[Case]) -> list[FinalAnswer]:
    """The responses to the final surveys of the month's closed cases, in a shuffled order.

    Every closed case's customer may answer (RESPONSE_RATE of them do), whatever opened the case:
    a complaint, a question or a "contact me" box. The list is a stream of its own, seeded by the
    survey, and the channel takes its first answers, so they are spread over the month and over
    the cases. A customer answers minutes to two days after the closing; answers after the month's
    end are next month's.
    """
    rng = ctx.rng("ctl_final_survey", "responses")
    answers = []
    for case in cases:
        closed = case.closed_at
        delay = timedelta(minutes=min(5 + rng.lognormvariate(4.0, 1.2), 48 * 60))
        answering = rng.random() < RESPONSE_RATE
        reopened = any(event == "reopened" for event, _ in case.events)
        solved = rng.random() < (0.35 if reopened else 0.86)
        tnps = texts.score("thanks" if solved else "complaint", "0-10", rng)
        kind = rng.choices(("none", "thanks", "wish", "complaint"), (50, 38, 7, 5) if solved else (40, 0, 5, 55))[0]
        comment = _final_comment(ctx, case, kind, solved, rng)
        if closed is None or not answering or closed + delay >= ctx.month.end:
            continue
        at = (closed + delay).replace(microsecond=0)
        response_id = "FS-" + case.case_id.removeprefix("CS-")
        answers.append(FinalAnswer(case, response_id, at, tnps, solved, kind, comment))
    rng.shuffle(answers)
    return answers


def _final_comment(ctx: Context, case: Case, kind: str, solved: bool, rng: random.Random) -> str:
    if kind == "none":
        return ""
    if kind in ("thanks", "complaint") and rng.random() < 0.6:
        return rng.choice(SOLVED_COMMENTS if solved else UNSOLVED_COMMENTS)
    return texts.feedback_text(kind, case.item.topic, rng, item_slots(ctx, case.item, rng))


def write_final_survey(ctx: Context, channel: Channel, n: int, answers: list[FinalAnswer]) -> ChannelResult:
    """The first ``n`` responses, one JSONL line each with both answers (tNPS and solved) and the
    comment, in one file per day of the answer."""
    chosen = sorted(answers[:n], key=lambda a: (a.at, a.response_id))
    result = ChannelResult(channel.id)
    lines_by_day: dict[str, list[str]] = {}
    for answer in chosen:
        case = answer.case
        item = Item(
            channel.id,
            answer.at,
            answer.kind,
            case.item.topic,
            answer.comment,
            answer.tnps,
            case.item.customer,
            case.item.store,
            case.item.order_ref,
            source_item_id=answer.response_id,
            no_case=True,
            extra={"case_id": case.case_id, "issue_solved": answer.solved},
        )
        result.items.append(item)
        record: dict[str, object] = {
            "response_id": answer.response_id,
            "survey": "close_the_loop_final",
            "case_id": case.case_id,
            "customer_id": case.item.customer.customer_id,
            "answered_at": iso_seconds(answer.at),
            "tnps": answer.tnps,
            "solved": "Да" if answer.solved else "Нет",
            "comment": answer.comment,
        }
        lines_by_day.setdefault(answer.at.astimezone(ctx.month.tz).date().isoformat(), []).append(json_line(record))
    for day, lines in sorted(lines_by_day.items()):
        path = channel_dir(ctx, channel) / f"responses_{day}.jsonl"
        path.write_bytes(jsonl_bytes(lines))
        result.files.append(path)
        result.records += len(lines)
    return result


__all__ = [
    "final_survey_answers",
    "write_employee_survey",
    "write_final_survey",
    "write_licence_survey",
    "write_sms_survey",
]
