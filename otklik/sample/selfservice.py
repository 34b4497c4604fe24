"""self_service_sessions: the session log of the website/app chat bot and the FAQ widget.

One JSONL line per finished session, one file per day (``sessions_YYYY-MM-DD.jsonl``), in the
shape channels.yaml assumes: session_id, tool, started_at, ended_at, customer_id, question,
outcome, escalated_to. Seven sessions in ten are the bot's, three the FAQ's. The bot resolves
about 45% of its sessions and hands about 30% over to an operator in the chat (``escalated``,
``escalated_to: chat``); the FAQ widget resolves about 55% ("yes, it helped") and cannot escalate.
The rest are abandoned. A quarter of the visitors are not logged in (empty customer_id).

The customer's first message to the bot is typed like any chat message (the channel's profile:
colloquial, now and then a greeting); an FAQ search query is a question from the same bank cut to
its first sentence, mostly without the question mark and the "Подскажите," in front. Sessions never open a CRM
case: an escalated one continues in the chat, whose message is an item (and a case) of its own.
"""

import random
import re
import uuid
from datetime import timedelta

from otklik.sample import texts
from otklik.sample.items import item_slots, make_items
from otklik.sample.model import BadRecord, ChannelResult, Context
from otklik.sample.writers import by_day, channel_dir, iso_seconds, json_line, jsonl_bytes
from transforms.channels import Channel

TOOLS = (("bot", 70), ("faq", 30))
OUTCOMES: dict[str, tuple[tuple[str, float], ...]] = {
    "bot": (("resolved", 45), ("escalated", 30), ("abandoned", 25)),
    "faq": (("resolved", 55), ("abandoned", 45)),
}
ANONYMOUS = 0.25  # visitors who are not logged in
# Minutes a session lasts, (low, high) by tool and outcome.
DURATION_MINUTES = {
    ("bot", "resolved"): (1.0, 6.0),
    ("bot", "escalated"): (0.5, 4.0),  # until the handover
    ("bot", "abandoned"): (0.3, 10.0),
    ("faq", "resolved"): (0.5, 5.0),
    ("faq", "abandoned"): (0.2, 3.0),
}
# The planted bad record: the platform's update added an outcome the log's shape does not define.
UNKNOWN_OUTCOME = "timeout"
_POLITE = re.compile(r"^(подскажите|скажите|уточните)( пожалуйста)?,?\s+", re.IGNORECASE)


def write_self_service(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("bad_outcome", 0), ctx.rng(channel.id, "bad"))
    planted_ids = {id(item) for item in planted}
    ids = ctx.rng(channel.id, "ids", ctx.month.label)  # session ids never repeat from one month to the next
    tools, tool_weights = zip(*TOOLS, strict=True)
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items + planted).items():
        name = f"{channel.id}/sessions_{day.isoformat()}.jsonl"
        lines = []
        for item in sorted(day_items, key=lambda i: i.at):
            item.no_case = True  # self-service: the bot or the FAQ, no one opens a case
            item.source_item_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
            tool = rng.choices(tools, tool_weights)[0]
            if tool == "faq":  # a search query: a question, typed plainly
                item.kind = "question"
                question = texts.feedback_text("question", item.topic, rng, item_slots(ctx, item, rng))
                item.text = faq_query(question, rng)
            outcomes, weights = zip(*OUTCOMES[tool], strict=True)
            outcome = rng.choices(outcomes, weights)[0]
            low, high = DURATION_MINUTES[(tool, outcome)]
            ended = item.at + timedelta(seconds=round(rng.uniform(low, high) * 60))
            if id(item) in planted_ids:
                outcome = UNKNOWN_OUTCOME
                result.bad.append(
                    BadRecord(
                        channel.id,
                        "bad_outcome",
                        name,
                        item.source_item_id,
                        f"outcome '{UNKNOWN_OUTCOME}' (a silent session the bot closed), which the log does not define",
                    )
                )
            item.extra.update(tool=tool, self_service_outcome=outcome)
            record = {
                "session_id": item.source_item_id,
                "tool": tool,
                "started_at": iso_seconds(item.at),
                "ended_at": iso_seconds(ended),
                "customer_id": "" if rng.random() < ANONYMOUS else item.customer.customer_id,
                "question": item.text,
                "outcome": outcome,
                "escalated_to": "chat" if outcome == "escalated" else "",
            }
            lines.append(json_line(record))
        (channel_dir(ctx, channel) / f"sessions_{day.isoformat()}.jsonl").write_bytes(jsonl_bytes(lines))
        result.files.append(ctx.landing_dir / name)
        result.records += len(lines)
    return result


def faq_query(question: str, rng: random.Random) -> str:
    """What a customer types into the FAQ search: the question's first sentence, plainly."""
    first = re.split(r"(?<=[?.!])\s+", question.strip(), maxsplit=1)[0].rstrip("?.! ")
    query = _POLITE.sub("", first)
    query = query[:1].lower() + query[1:] if rng.random() < 0.7 else query[:1].upper() + query[1:]
    return query + ("?" if rng.random() < 0.25 else "")


__all__ = ["faq_query", "write_self_service"]
