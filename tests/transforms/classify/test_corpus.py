"""The documented label mappings of each real source, and the source weights."""

import json
from pathlib import Path

import polars as pl
import pytest

from transforms.classify import corpus


def _cedr(labels: list[str]) -> list[str | None]:
    return pl.DataFrame({"labels": labels}).select(s=corpus.cedr_sentiment())["s"].to_list()


def test_cedr_emotions_map_to_sentiment() -> None:
    # 0 joy, 1 sadness, 2 surprise, 3 fear, 4 anger
    assert _cedr(["[]", "[0]", "[1]", "[3]", "[4]", "[1 4]", "[2]", "[0 2]", "[1 0]"]) == [
        "neutral", "positive", "negative", "negative", "negative", "negative", None, "positive", None,
    ]  # fmt: skip


def test_the_repository_sources_load_with_their_mappings() -> None:
    rows = corpus.load_corpus()
    by_source = {
        r["source"]: r for r in rows.group_by("source").agg(pl.len(), pl.col("kind").drop_nulls().unique()).to_dicts()
    }
    assert set(by_source) == {"seed", "cedr", "cfpb"}
    assert by_source["cedr"]["kind"] == []  # blog and news sentences are not feedback: no kind
    assert by_source["cfpb"]["kind"] == ["complaint"]
    assert rows.filter(pl.col("source") == "cfpb")["sentiment"].unique().to_list() == ["negative"]
    assert rows.filter(pl.col("source") == "cfpb")["language"].unique().to_list() == ["en"]
    # CEDR: 9,410 sentences; surprise-only and joy mixed with a negative emotion have no sentiment
    assert 8_000 < by_source["cedr"]["len"] < 9_410
    assert rows["text"].str.len_chars().min() > 0


def test_sentirueval_reviews_map_the_whole_sentiment(tmp_path: Path) -> None:
    lines = [
        {"id": "1", "text": "Ужасный сервис", "cat_Whole": "negative"},
        {"id": "2", "text": "Прекрасный вечер", "cat_Whole": "positive"},
        {"id": "3", "text": "Обычное место", "cat_Whole": "neutral"},
        {"id": "4", "text": "Еда хорошая, сервис плохой", "cat_Whole": "both"},
        {"id": "5", "text": "Был там", "cat_Whole": "absence"},
    ]
    (tmp_path / "reviews_train.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    rows = corpus.restaurants(tmp_path)
    assert rows.select("kind", "sentiment").rows() == [
        ("complaint", "negative"),
        ("thanks", "positive"),
        (None, "neutral"),
    ]  # both and absence carry no label at all, so they are not rows
    assert rows["domain"].unique().to_list() == ["restaurants"]


def test_telecom_kind_only_for_a_customers_own_tweet(tmp_path: Path) -> None:
    file = tmp_path / "telecom_test_etalon.csv"
    pl.DataFrame(
        {
            "text": [
                "@mts_news опять нет связи второй день",
                "RT @news: МТС оштрафовали",
                "@megafon спасибо, быстро починили",
                "Суд арестовал счета оператора http://t.co/x",
                "@tele2 а когда будет 4G?",
                "@beeline и хорошо и плохо",
            ],
            "overall": ["negative", "negative", "positive", "negative", "neutral", "mixed"],
        }
    ).write_csv(file)
    rows = corpus.telecom(tmp_path)
    assert rows.select("kind", "sentiment").rows() == [
        ("complaint", "negative"),
        (None, "negative"),
        ("thanks", "positive"),
        (None, "negative"),
        (None, "neutral"),
    ]


def test_a_research_set_with_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reviews_x.jsonl").write_text('{"text": "a"}\n')
    with pytest.raises(ValueError, match="cat_Whole"):
        corpus.cars(tmp_path)
    with pytest.raises(ValueError, match="no reviews_"):
        corpus.cars(tmp_path / "missing_dir_is_not_a_file")


def test_research_options_name_a_known_research_set(tmp_path: Path) -> None:
    assert corpus.parse_research([f"cars={tmp_path}"]) == {"cars": tmp_path}
    with pytest.raises(ValueError, match="NAME one of restaurants, cars, telecom"):
        corpus.parse_research([f"cedr={tmp_path}"])  # in the repository already
    with pytest.raises(ValueError, match="no such file"):
        corpus.parse_research([f"cars={tmp_path / 'nope'}"])


def test_each_source_brings_the_same_total_weight_up_to_the_cap() -> None:
    frame = pl.DataFrame({"source": ["a"] * 90 + ["b"] * 30 + ["c"] * 6, "y": ["x"] * 126})
    weights = corpus.source_weights(frame, "y").to_list()
    totals = {s: sum(w for w, src in zip(weights, frame["source"], strict=True) if src == s) for s in "abc"}
    assert totals["a"] == pytest.approx(42) and totals["b"] == pytest.approx(42)  # 126 rows / 3 sources
    assert totals["c"] == pytest.approx(6 * 3.0)  # capped at 3x a row of the average source


def test_provenance_records_licence_origin_and_digest(tmp_path: Path) -> None:
    (tmp_path / "reviews_train.jsonl").write_text('{"text": "a", "cat_Whole": "negative"}\n')
    records = corpus.provenance(("seed",), {"cars": tmp_path})
    assert [r["name"] for r in records] == ["seed", "cars"]
    assert records[1]["in_repository"] is False and "research-only" in records[1]["licence"]
    assert len(records[0]["sha256_16"]) == 16
