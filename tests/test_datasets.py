"""The labelled datasets shipped in datasets/: each is what its provenance says, with its licence."""

import json
from pathlib import Path

import polars as pl
import pytest

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
FOLDERS = sorted(path for path in DATASETS.iterdir() if path.is_dir())


def test_every_dataset_is_listed_with_its_provenance_and_licence() -> None:
    readme = (DATASETS / "README.md").read_text(encoding="utf-8")
    assert [folder.name for folder in FOLDERS] == ["cedr_emotions_ru", "cfpb_complaints_en"]
    for folder in FOLDERS:
        assert f"`{folder.name}/`" in readme
        assert (folder / "PROVENANCE.md").read_text(encoding="utf-8").strip()
        assert (folder / "STATS.json").is_file()
    assert "Apache License" in (DATASETS / "cedr_emotions_ru" / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["train", "test"])
def test_cedr_rows_and_labels_match_its_stats(split: str) -> None:
    stats = json.loads((DATASETS / "cedr_emotions_ru" / "STATS.json").read_text())[split]
    frame = pl.read_csv(DATASETS / "cedr_emotions_ru" / f"cedr-main-{split}.csv")
    assert frame.columns == ["text", "labels", "source"]
    assert frame.height == stats["rows"]
    counts = dict(frame.group_by("labels").len().rows())
    assert {label: counts.get(label) for label in stats["labels"]} == stats["labels"]  # STATS lists the common ones
    assert dict(frame.group_by("source").len().rows()) == stats["sources"]
    emotions = set(frame["labels"].str.strip_chars("[]").str.split(" ").explode().to_list()) - {""}
    assert emotions == {"0", "1", "2", "3", "4"}  # joy, sadness, surprise, fear, anger
    assert frame["text"].str.contains("[а-яё]").mean() > 0.99  # Russian text


def test_cfpb_narratives_match_its_stats() -> None:
    stats = json.loads((DATASETS / "cfpb_complaints_en" / "STATS.json").read_text())
    frame = pl.read_csv(DATASETS / "cfpb_complaints_en" / "complaints_with_narrative.csv", infer_schema=False)
    assert frame.height == stats["rows"]
    assert frame["Complaint ID"].n_unique() == frame.height
    assert frame["Consumer complaint narrative"].str.len_chars().min() > 0
    assert dict(frame.group_by("Product").len().rows()) == stats["products"]
    assert dict(frame.group_by("Timely response?").len().rows()) == stats["timely_response"]
