import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from otklik.classify_cli import classify_app
from transforms.classify.labels import parse_labels
from transforms.taxonomy import load_feedback_types
from warehouse import connect
from warehouse.labels import latest_labels, review_queue, store_labels

runner = CliRunner()


def _invoke(*args: str):
    result = runner.invoke(classify_app, list(args), catch_exceptions=True)
    return result


def test_labels_are_validated_with_the_row_they_are_on() -> None:
    types = load_feedback_types()
    frame = pl.DataFrame({"feedback_id": ["a", "b"], "kind": ["Complaint", "rant"]})
    with pytest.raises(ValueError, match="label row 3: unknown kind 'rant'"):
        parse_labels(frame, types)
    crm = pl.DataFrame({"ID": ["a"], "Тип": ["delivery_late"]})
    out = parse_labels(crm, types, {"feedback_id": "ID", "feedback_type_id": "Тип"})
    assert out.rows() == [("a", None, None, "delivery_late")]
    with pytest.raises(ValueError, match="none of the label columns"):
        parse_labels(pl.DataFrame({"feedback_id": ["a"]}), types)


def test_latest_label_wins_and_labelled_items_leave_the_review_queue(con) -> None:
    types = load_feedback_types()
    store_labels(
        con, parse_labels(pl.DataFrame({"feedback_id": ["f1"], "kind": ["wish"]}), types), labelled_by="a", source="x"
    )
    store_labels(
        con, parse_labels(pl.DataFrame({"feedback_id": ["f1"], "kind": ["thanks"]}), types), labelled_by="b", source="y"
    )
    assert latest_labels(con).rows() == [("f1", "thanks", None, None)]
    con.execute(
        "create table core.fct_feedback as select * from (values"
        " ('f1', 'web_form', timestamptz '2026-10-01 10:00:00+00', 'а', 'other', 'neutral', 'unclassified',"
        "  0.1, 'model', true),"
        " ('f2', 'web_form', timestamptz '2026-10-01 11:00:00+00', 'б', 'other', 'neutral', 'unclassified',"
        "  0.2, 'model', true),"
        " ('f3', 'web_form', timestamptz '2026-10-01 12:00:00+00', 'в', 'complaint', 'negative', 'price',"
        "  0.9, 'rule', false))"
        " as t(feedback_id, channel_id, received_at, body_text, kind, sentiment, feedback_type_id,"
        " classification_confidence, classification_method, needs_review)"
    )
    assert review_queue(con)["feedback_id"].to_list() == ["f2"]


def test_predict_writes_the_rows_plus_the_outputs(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame({"id": ["1", "2"], "comment": ["Курьер нахамил", "Спасибо!"], "nps": ["2", ""]}).write_csv(source)
    out = tmp_path / "out.jsonl"
    result = _invoke("predict", "--file", str(source), "--text-col", "comment", "--score-col", "nps", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert [r["kind"] for r in rows] == ["complaint", "thanks"]
    assert rows[0]["feedback_type"] == "delivery_courier" and rows[0]["directorate_id"] == "logistics"
    assert {"sentiment", "confidence", "method", "taxonomy_version", "model_version"} <= set(rows[0])


def test_eval_reports_macro_f1_as_json(tmp_path: Path) -> None:
    source = tmp_path / "gold.csv"
    pl.DataFrame(
        {"t": ["Ужасно, курьер опоздал", "Спасибо, всё отлично", "Добавьте СБП"], "y": ["complaint", "thanks", "wish"]}
    ).write_csv(source)
    result = _invoke("eval", "--file", str(source), "--text-col", "t", "--label-col", "y", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 3 and report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert report["labels"] == ["complaint", "thanks", "wish"]


def test_train_writes_a_versioned_artifact_from_a_label_file(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pl.DataFrame(
        {
            "text": ["плохо", "ужасно", "отлично", "супер"] * 2,
            "sentiment": ["negative", "negative", "positive", "positive"] * 2,
        }
    ).write_csv(labels)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        assert _invoke("train", "--no-corpus", "--labels", str(labels), "--out", str(out)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_import_labels_stores_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    labels = tmp_path / "labels.xlsx"
    pl.DataFrame({"Номер": ["f1", "f2"], "Вид": ["complaint", "wish"]}).write_excel(labels)
    result = _invoke(
        "import-labels", str(labels), "--labelled-by", "head", "--column", "feedback_id=Номер", "--column", "kind=Вид"
    )
    assert result.exit_code == 0, result.output
    with connect(read_only=True) as con:
        assert latest_labels(con).sort("feedback_id")["kind"].to_list() == ["complaint", "wish"]


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a,b\n1,2\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "otklik.cli",
            "classify",
            "predict",
            "--file",
            str(source),
            "--text-col",
            "text",
            "--out",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error:" in result.stdout and "no text column 'text'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


FORMULAS = ['=HYPERLINK("http://x","y")', "+7 916 000-00-00 перезвоните", "-5 звёзд", "@SUM(A1)"]


def _csv_cells(path: Path, column: str) -> list[str]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def test_the_review_queue_csv_keeps_formula_like_texts_as_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    texts = [*FORMULAS, "Обычный текст"]
    with connect() as con:
        con.execute(
            "create table core.fct_feedback as select 'f' || i as feedback_id, 'web_form' as channel_id,"
            " timestamptz '2026-10-01 10:00:00+00' as received_at, t as body_text, 'other' as kind,"
            " 'neutral' as sentiment, 'unclassified' as feedback_type_id, 0.1 * i as classification_confidence,"
            " 'model' as classification_method, true as needs_review"
            " from unnest(?) with ordinality as u(t, i)",
            [texts],
        )
    out = tmp_path / "queue.csv"
    result = _invoke("review-queue", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _csv_cells(out, "body_text") == [*(f"'{t}" for t in FORMULAS), "Обычный текст"]
    assert _csv_cells(out, "feedback_id") == ["f1", "f2", "f3", "f4", "f5"]  # ids as they are: labels match them
    jsonl = tmp_path / "queue.jsonl"
    assert _invoke("review-queue", "--out", str(jsonl)).exit_code == 0
    assert [json.loads(line)["body_text"] for line in jsonl.read_text().splitlines()] == texts  # for programs


def test_predict_csv_keeps_formula_like_texts_as_texts(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame({"id": ["1", "2", "3", "4"], "comment": FORMULAS}).write_csv(source)
    out = tmp_path / "out.csv"
    result = _invoke("predict", "--file", str(source), "--text-col", "comment", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _csv_cells(out, "comment") == [f"'{t}" for t in FORMULAS]
    assert _csv_cells(out, "id") == ["1", "2", "3", "4"]
