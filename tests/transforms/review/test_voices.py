"""Quotes chosen for meaning (transforms/review/voices.py): close to the group's centre, not the longest,
not the first, never the same thing twice, the same whatever the order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.review.voices import representative

LATE = [
    "Курьер опоздал на три часа, заказ привезли поздно вечером",
    "Доставку перенесли дважды, курьер опоздал и не позвонил",
    "Заказ привезли с опозданием на день, курьер не предупредил",
    "Опоздание доставки: ждали курьера весь день, привезли поздно",
]
OFF_TOPIC = "Кассир на кассе номер пять нагрубил мне при возврате товара в магазине"
LONG = "Курьер опоздал. " + "Очень долго ждали, весь день прошёл впустую, никто ничего не объяснил. " * 12
SHORT = "опоздали"


def _items(texts: list[str]) -> list[dict]:
    return [{"feedback_id": f"web:{n:03d}", "body_text": t} for n, t in enumerate(texts)]


def test_quotes_are_the_texts_closest_to_what_the_group_says() -> None:
    items = _items([OFF_TOPIC, *LATE, LONG, SHORT])
    chosen = representative(items, 3)
    texts = [i["body_text"] for i in chosen]
    assert len(texts) == 3 and set(texts) <= set(LATE)  # not the off-topic one, not the longest, not the shortest
    assert items[0]["body_text"] not in texts  # not simply the first


def test_a_text_repeated_word_for_word_is_quoted_once() -> None:
    items = _items([LATE[0], LATE[0], LATE[0], *LATE[1:], OFF_TOPIC])
    texts = [i["body_text"] for i in representative(items, 3)]
    assert texts.count(LATE[0]) <= 1 and len(texts) == 3


def test_few_texts_are_all_quoted_and_no_text_means_no_quote() -> None:
    assert [i["body_text"] for i in representative(_items([SHORT]), 3)] == [SHORT]
    assert representative(_items([LATE[0], SHORT]), 3) != []
    assert representative([{"feedback_id": "x", "body_text": None}, {"feedback_id": "y", "body_text": "  "}], 3) == []
    assert representative(_items(LATE), 0) == []


@settings(max_examples=25, deadline=None)
@given(st.permutations(_items([OFF_TOPIC, *LATE, LONG, SHORT, "Спасибо, всё отлично, курьер вежливый"])))
def test_the_choice_does_not_depend_on_the_order_of_the_items(items: list[dict]) -> None:
    reference = representative(sorted(items, key=lambda i: i["feedback_id"]), 3)
    assert representative(items, 3) == reference
