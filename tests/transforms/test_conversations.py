"""Cross-channel conversations (transforms/conversations.py): hand-made cases and a brute-force twin."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.conversations import OUTPUT_COLUMNS, conversations

T0 = datetime(2026, 10, 5, 9, tzinfo=UTC)
COMPLAINT = "Курьер опоздал на два часа, заказ не привезли"


def item(feedback_id: str, channel_id: str, hours: float, text: str | None = COMPLAINT, customer: str | None = "c1"):
    return {
        "feedback_id": feedback_id,
        "channel_id": channel_id,
        "customer_key": customer,
        "received_at": T0 + timedelta(hours=hours),
        "body_text": text,
    }


def frame(items: list[dict]) -> pl.LazyFrame:
    schema = {
        "feedback_id": pl.String,
        "channel_id": pl.String,
        "customer_key": pl.String,
        "received_at": pl.Datetime("us", "UTC"),
        "body_text": pl.String,
    }
    return pl.DataFrame(items, schema=schema).lazy()


def run(items: list[dict], **options) -> dict[str, tuple[str, bool, str | None]]:
    result = conversations(frame(items), **options).collect()
    assert result.schema == pl.Schema(OUTPUT_COLUMNS)
    assert result.height == len(items)
    return {r[0]: r[1:] for r in result.rows()}


def test_the_same_complaint_on_two_channels_is_one_conversation() -> None:
    result = run([item("web:1", "web", 0), item("tg:1", "tg", 5, COMPLAINT.upper() + "!!!")])
    assert result == {"web:1": ("web:1", False, None), "tg:1": ("web:1", True, "web:1")}


@pytest.mark.parametrize(
    ("second", "repeats"),
    [
        (item("tg:1", "tg", 47.9), True),
        (item("tg:1", "tg", 48), True),  # the window is inclusive
        (item("tg:1", "tg", 48.1), False),
        (item("web:2", "web", 1), False),  # the same channel: a second item, not a channel switch
        (item("tg:1", "tg", 1, customer="c2"), False),
        (item("tg:1", "tg", 1, customer=None), False),
        (item("tg:1", "tg", 1, text=None), False),
        # 6 of 7 words of 3+ letters shared: Jaccard 6/7 = 0.86
        (item("tg:1", "tg", 1, "курьер опоздал на два часа, заказ не привезли вовремя"), True),
        # 5 shared of 8 in all: 0.62
        (item("tg:1", "tg", 1, "курьер опоздал, заказ привезли мятый и грязный"), False),
        (item("tg:1", "tg", -3), True),  # the web item is then the repeat (see the next test)
    ],
    ids=["47.9h", "48h", "48.1h", "same-channel", "other-customer", "no-customer", "no-text", "jaccard-0.86",
         "jaccard-0.62", "earlier"],
)  # fmt: skip
def test_what_makes_a_repeat(second: dict, repeats: bool) -> None:
    result = run([item("web:1", "web", 0), second])
    assert any(is_repeat for _, is_repeat, _ in result.values()) is repeats


def test_the_earliest_item_starts_the_conversation_whatever_the_ids() -> None:
    result = run([item("web:1", "web", 0), item("tg:1", "tg", -3)])
    assert result["web:1"] == ("tg:1", True, "tg:1")


def test_same_instant_ties_go_to_the_smaller_feedback_id() -> None:
    result = run([item("web:1", "web", 0), item("app:1", "app", 0)])
    assert result == {"app:1": ("app:1", False, None), "web:1": ("app:1", True, "app:1")}


def test_a_chain_of_switches_is_one_conversation_from_its_first_item() -> None:
    items = [item("web:1", "web", 0), item("tg:1", "tg", 30), item("mail:1", "mail", 60)]
    result = run(items)
    # mail is 60 h after web, so it repeats tg (30 h); its conversation is still web's
    assert result["mail:1"] == ("web:1", True, "tg:1")
    assert result["tg:1"] == ("web:1", True, "web:1")


def test_a_repeat_points_at_the_earliest_item_it_repeats() -> None:
    items = [item("web:1", "web", 0), item("app:1", "app", 10), item("tg:1", "tg", 20)]
    assert run(items)["tg:1"] == ("web:1", True, "web:1")


def test_pairs_across_a_time_bucket_boundary_are_found() -> None:
    # buckets are window-sized and start at the epoch
    epoch, window = datetime(1970, 1, 1, tzinfo=UTC), timedelta(hours=48)
    boundary = epoch + (T0 - epoch) // window * window
    hours = (boundary - T0) / timedelta(hours=1)
    result = run([item("web:1", "web", hours - 0.5), item("tg:1", "tg", hours + 0.5)])
    assert result["tg:1"][1] is True


def test_the_window_is_configurable() -> None:
    items = [item("web:1", "web", 0), item("tg:1", "tg", 60)]
    assert run(items)["tg:1"][1] is False
    assert run(items, window=timedelta(hours=72))["tg:1"][1] is True


def test_empty_input() -> None:
    assert run([]) == {}


def session_frame(items: list[dict], outcomes: dict[str, str]) -> pl.LazyFrame:
    """The staging shape: every item with its self_service_outcome (null but for sessions)."""
    outcome = pl.col("feedback_id").replace_strict(outcomes, default=None, return_dtype=pl.String)
    return frame(items).with_columns(self_service_outcome=outcome)


def test_a_self_service_session_is_never_part_of_a_conversation() -> None:
    # The bot could not help and handed over to the chat: the chat message is the customer's
    # contact, not a repeat of the session; nor does a later e-mail repeat the session.
    items = [
        item("bot:1", "bot", 0),
        item("chat:1", "chat", 0.1),
        item("bot:2", "bot", 30, customer="c2"),
        item("mail:2", "mail", 31, customer="c2"),
        item("faq:3", "bot", 40, customer="c3"),  # a session after the contact does not repeat it
        item("chat:3", "chat", 39, customer="c3"),
    ]
    outcomes = {"bot:1": "escalated", "bot:2": "abandoned", "faq:3": "resolved"}
    result = conversations(session_frame(items, outcomes)).collect()
    assert result.select("feedback_id", "conversation_id", "is_conversation_repeat").rows() == [
        ("bot:1", "bot:1", False),
        ("bot:2", "bot:2", False),
        ("chat:1", "chat:1", False),
        ("chat:3", "chat:3", False),
        ("faq:3", "faq:3", False),
        ("mail:2", "mail:2", False),
    ]
    # the same items without the outcomes would link: the sessions are what keeps them apart
    assert run(items)["chat:1"] == ("bot:1", True, "bot:1")


def test_items_around_a_session_still_link_with_each_other() -> None:
    items = [item("bot:1", "bot", 0), item("chat:1", "chat", 1), item("mail:1", "mail", 5)]
    result = conversations(session_frame(items, {"bot:1": "escalated"})).collect()
    rows = {r[0]: r[1:] for r in result.rows()}
    assert rows == {
        "bot:1": ("bot:1", False, None),
        "chat:1": ("chat:1", False, None),
        "mail:1": ("chat:1", True, "chat:1"),
    }


def test_an_employee_answer_never_links() -> None:
    """Through the normalizer: the eNPS survey (audience employee) maps no customer field, so its items
    have no customer_key and cannot be a customer's repeat, even with a customer's very words."""
    import json

    from transforms.channels import get_channel
    from transforms.normalize import normalize_channel

    def staged(channel_id: str, records: list[dict]) -> pl.DataFrame:
        payloads = pl.DataFrame(
            {
                "payload": [json.dumps(r, ensure_ascii=False) for r in records],
                "_batch_id": "b",
                "_source_file": channel_id,
                "_record_index": list(range(len(records))),
            },
            schema={"payload": pl.String, "_batch_id": pl.String, "_source_file": pl.String, "_record_index": pl.Int64},
        )
        channel = get_channel(channel_id)
        return normalize_channel(payloads, channel, pii_key=b"k", as_of=T0 + timedelta(days=30)).rows

    pulse = get_channel("employee_pulse_survey")
    assert pulse.audience == "employee"
    answer = {"ID анкеты": "0A1B2C3D", "Дата и время": "2026-10-05T12:00:00", "Комментарий": COMPLAINT}
    answer[str(pulse.fields["score"])] = 3
    form = {"id": "w1", "created_at": "2026-10-05 13:00:00", "message": COMPLAINT, "email": "c1@example.ru"}
    feedback = pl.concat([staged("employee_pulse_survey", [answer]), staged("web_form", [form])])
    assert feedback["customer_key"].to_list() == [None, feedback["customer_key"][1]]
    result = conversations(feedback.lazy()).collect()
    assert not result["is_conversation_repeat"].any()
    assert result["conversation_id"].to_list() == result["feedback_id"].to_list()


# --- the same rule, brute force ------------------------------------------------------------------


def tokens(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]{3,}", text.lower()))


def normalized(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def brute_force(items: list[dict], window: timedelta = timedelta(hours=48)) -> dict[str, tuple]:
    order = sorted(items, key=lambda i: (i["received_at"], i["feedback_id"]))
    parent: dict[str, str] = {}
    for later, earlier in itertools.permutations(order, 2):
        if (earlier["received_at"], earlier["feedback_id"]) >= (later["received_at"], later["feedback_id"]):
            continue
        if (
            later["feedback_id"] in parent
            or not later["customer_key"]
            or later["customer_key"] != earlier["customer_key"]
        ):
            continue
        if later["channel_id"] == earlier["channel_id"] or later["received_at"] - earlier["received_at"] > window:
            continue
        if later["body_text"] is None or earlier["body_text"] is None:
            continue
        a, b = tokens(later["body_text"]), tokens(earlier["body_text"])
        same = normalized(later["body_text"]) == normalized(earlier["body_text"]) != ""
        if same or (a | b and len(a & b) >= 0.8 * len(a | b)):
            parent[later["feedback_id"]] = earlier["feedback_id"]  # the first found is the earliest

    def root(feedback_id: str) -> str:
        while feedback_id in parent:
            feedback_id = parent[feedback_id]
        return feedback_id

    return {
        i["feedback_id"]: (root(i["feedback_id"]), i["feedback_id"] in parent, parent.get(i["feedback_id"]))
        for i in items
    }


TEXTS = [COMPLAINT, COMPLAINT + " вовремя", "Спасибо!", "спасибо", "Товар сломан", "товар сломан, верните деньги", None]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["web", "tg", "mail"]),
            st.integers(0, 150),
            st.sampled_from(TEXTS),
            st.sampled_from(["c1", "c2", None]),
        ),
        max_size=12,
    )
)
def test_equals_the_brute_force_rule(drawn: list[tuple]) -> None:
    items = [item(f"{ch}:{n}", ch, hours, text, customer) for n, (ch, hours, text, customer) in enumerate(drawn)]
    assert run(items) == brute_force(items)
