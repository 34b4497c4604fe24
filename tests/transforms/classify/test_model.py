import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.classify import corpus
from transforms.classify.corpus import SEED_LABELS
from transforms.classify.engine import DEFAULT_MODEL_PATH, Classifier
from transforms.classify.evaluate import score
from transforms.classify.model import FeatureHasher, Model, load_model
from transforms.classify.train import train_model
from transforms.taxonomy import load_feedback_types

PROJECT = Path(__file__).resolve().parents[3]
TEXTS = pl.Series(["Курьер опоздал", "Спасибо большое!", "Добавьте оплату СБП", "Где мой заказ?", "Продам гараж", None])


@pytest.fixture(scope="module")
def seed() -> pl.DataFrame:
    return pl.read_csv(SEED_LABELS, schema_overrides={"score_10": pl.Float64})


@pytest.fixture(scope="module")
def trained(seed: pl.DataFrame) -> Model:
    return train_model(seed, provenance={"labels": [SEED_LABELS.name]})


# The committed model is trained on the repository's corpus plus the three research-only SentiRuEval
# sets, which the repository may not hold. Give their parent folder (with sentirueval2015_restaurants,
# sentirueval2015_cars, sentirueval2016_telecom_tweets as published) to check the bytes.
RESEARCH_DATA = os.environ.get("OTKLIK_RESEARCH_DATA")
RESEARCH_FOLDERS = {
    "restaurants": "sentirueval2015_restaurants",
    "cars": "sentirueval2015_cars",
    "telecom": "sentirueval2016_telecom_tweets",
}


def test_the_committed_model_names_its_sources_and_the_repository_files_it_was_trained_on() -> None:
    # Runs everywhere: a change to the seed or to a dataset in the repository without retraining
    # leaves the committed model stale, and this fails.
    sources = load_model(DEFAULT_MODEL_PATH).provenance["sources"]
    assert [(s["name"], s["in_repository"]) for s in sources] == [
        ("seed", True),
        ("cedr", True),
        ("cfpb", True),
        ("cars", False),
        ("restaurants", False),
        ("telecom", False),
    ]
    for source in sources:
        assert source["licence"] == corpus.SOURCES[source["name"]].licence
        if source["in_repository"]:
            assert source["sha256_16"] == corpus.digest(corpus.SOURCES[source["name"]].default_path)


@pytest.mark.skipif(not RESEARCH_DATA, reason="set OTKLIK_RESEARCH_DATA to the SentiRuEval sets' parent folder")
def test_the_default_model_is_reproduced_byte_for_byte(tmp_path) -> None:
    from typer.testing import CliRunner

    from otklik.classify_cli import classify_app

    out = tmp_path / "default.json"
    research = [f"--research={name}={Path(RESEARCH_DATA) / folder}" for name, folder in RESEARCH_FOLDERS.items()]
    result = CliRunner().invoke(classify_app, ["train", *research, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == DEFAULT_MODEL_PATH.read_bytes()


def test_training_on_the_repository_corpus_alone_needs_no_research_set(tmp_path) -> None:
    from typer.testing import CliRunner

    from otklik.classify_cli import classify_app

    out = tmp_path / "repository.json"
    result = CliRunner().invoke(classify_app, ["train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in load_model(out).provenance["sources"]] == ["seed", "cedr", "cfpb"]
    assert set(load_model(out).heads) == {"kind", "sentiment"}


def test_a_saved_artifact_gives_identical_predictions(trained: Model, tmp_path) -> None:
    version = trained.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert loaded.version == version
    types = load_feedback_types()
    assert Classifier(types, trained).predict(TEXTS).equals(Classifier(types, loaded).predict(TEXTS))


def test_confidences_are_probabilities() -> None:
    model = load_model(DEFAULT_MODEL_PATH)
    out = Classifier(load_feedback_types(), model).predict(TEXTS)
    assert out["kind"].to_list() == ["complaint", "thanks", "wish", "question", "other", "unclassified"]
    x = Classifier(load_feedback_types(), model).featurizer.matrix(pl.DataFrame({"text": TEXTS}))
    for head in model.heads.values():
        assert head.temperature > 0
        assert np.allclose(head.proba(x).sum(axis=1), 1)


def test_a_type_head_is_trained_from_type_labels(seed: pl.DataFrame) -> None:
    labelled = pl.DataFrame(
        {
            "text": ["рулетка кривая"] * 3 + ["стремянка шатается"] * 3,
            "feedback_type": ["product_quality"] * 3 + ["product_safety"] * 3,
        }
    )
    model = train_model(pl.concat([seed, labelled], how="diagonal_relaxed"))
    assert model.heads["type"].classes == ("product_quality", "product_safety")
    out = Classifier(load_feedback_types(), model).predict(pl.Series(["рулетка совсем кривая"]))
    assert out.select("predicted_type_id", "method").row(0) == ("product_quality", "model")


def test_not_an_artifact_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "x.json").write_text('{"format": "pickle"}')
    with pytest.raises(ValueError, match="not an otklik-linear-v1 model artifact"):
        load_model(tmp_path / "x.json")
    with pytest.raises(ValueError, match="no model artifact"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not JSON"):
        Model.from_text("{")


def test_nothing_to_train_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to train"):
        train_model(pl.DataFrame({"text": ["a", "b"], "kind": ["wish", "wish"]}))


def test_score_report() -> None:
    report = score(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert report.accuracy == 0.75
    assert [c.f1 for c in report.classes] == pytest.approx([2 / 3, 0.8])
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert report.confusion == [[1, 1], [0, 2]]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))  # what UTF-8 can encode
def test_the_feature_hash_is_the_murmurhash3_the_committed_model_was_trained_with(feature: str) -> None:
    from sklearn.utils import murmurhash3_32

    whole = FeatureHasher(n_features=2**32)  # every bucket: the hash itself
    assert whole.buckets([feature]) == [murmurhash3_32(feature, seed=0, positive=True)]


def test_a_build_process_classifies_without_importing_scikit_learn() -> None:
    """Importing scikit-learn (and the SciPy statistics it pulls in) takes about 0.7 s in a fresh process;
    prediction needs only its hash function, which mmh3 gives."""
    script = (
        "import sys, polars as pl\n"
        "import flows._tasks, warehouse.build, transforms.review.monthly\n"
        "from transforms.classify.engine import default_classifier\n"
        "default_classifier().predict(pl.Series(['Курьер опоздал, верните деньги']))\n"
        "sys.exit(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn')[:3] or 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr or done.stdout
