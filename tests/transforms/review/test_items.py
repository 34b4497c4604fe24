"""The drill-down page's items (transforms/review/items.py)."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.review.items import _item_order, first_items

ITEMS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"feedback_id": st.sampled_from(["F1", "F2", "F3", "F10"]), "body_text": st.text(max_size=3)},
            optional={"received_local": st.sampled_from(["2026-10-01 09:00", "2026-10-01 09:01", "2026-10-02 00:00"])},
        ),
        st.fixed_dictionaries(
            {"case_id": st.sampled_from(["C1", "C2"])},
            optional={"started_local": st.sampled_from(["2026-10-01 09:00", "2026-10-03 12:00"])},
        ),
        st.builds(lambda i: {"missing_id": i}, st.sampled_from(["F7", "F8"])),
    ),
    max_size=30,
)


@settings(max_examples=300)
@given(ITEMS, st.integers(min_value=1, max_value=12))
def test_first_items_are_the_first_of_all_items_in_order(items: list[dict[str, Any]], count: int) -> None:
    """Oldest first, ties (same minute, no time) by the item's text: the first ``count`` of them all."""
    assert first_items(items, count) == sorted(items, key=_item_order)[:count]
