"""The other domains' taxonomies (bench/domains/) are valid configuration and route by the same rules."""

import importlib.util
from pathlib import Path

import polars as pl
import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_routing.py"


@pytest.fixture(scope="module")
def routing():
    spec = importlib.util.spec_from_file_location("bench_routing", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_restaurant_taxonomy_routes_sentences_to_their_owner(routing) -> None:
    out = routing.route(
        pl.Series(
            ["Официант был грубый", "Стейк пересолили", "Очень шумно и тесно", "Слишком дорого, счёт огромный", "Ок"]
        ),
        "restaurant",
    )
    assert out["rule_type"].to_list() == ["service", "food", "interior", "price", None]


def test_consumer_finance_taxonomy_routes_english_text(routing) -> None:
    out = routing.route(
        pl.Series(["The debt collector keeps calling about a debt not owed", "Equifax will not fix my credit report"]),
        "consumer_finance",
    )
    assert out["rule_type"].to_list() == ["debt_collection", "credit_reporting"]


def test_scores_count_unrouted_items_as_wrong(routing) -> None:
    routed = pl.DataFrame({"rule_type": ["a", None, "b", "c"], "rule_confidence": [0.9, None, 0.5, 0.7]})
    out = routing.report("x", [{"a"}, {"a"}, {"a", "b"}, {"a"}], routed)
    assert out["routed_share"] == 0.75
    assert out["accuracy_of_routed"] == pytest.approx(2 / 3) and out["accuracy_overall"] == 0.5
    assert out["sure_share"] == 0.5 and out["accuracy_of_sure"] == 0.5
