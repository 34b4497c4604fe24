"""Classifier throughput and quality (a benchmark, not a test; run it by hand).

    POLARS_MAX_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python bench/bench_classify.py speed [items] [batch]
    .venv/bin/python bench/bench_classify.py quality [--telecom CSV] [--bitext CSV]

``speed``: the default path (lemmas with the vocabulary cache, taxonomy rules, hashed features,
kind and sentiment heads) over texts from the sample generator's templates, one core, in
batches of ``batch`` (the build classifies a month of items at once). The first batch warms the
lemma cache; items/s is over the later ones.

``quality``: kind accuracy on the sample generator's texts; zero-shot sentiment on the CEDR
sentences (datasets/cedr_emotions_ru: joy is positive, sadness / fear / anger negative, no emotion
neutral; surprise alone and mixed joy-and-negative are left out); what the model says of the CFPB
narratives (datasets/cfpb_complaints_en, all complaints). Two research-only sets that the repository
may not redistribute are scored when you give their path: ``--telecom`` the SentiRuEval-2016 telecom
tweets (``telecom_test_etalon.csv``: columns text, overall), zero-shot and trained in 5-fold CV;
``--bitext`` Bitext's sample customer-service utterances (intent 'complaint' vs the rest).
"""

import argparse
import random
import time
from pathlib import Path

import polars as pl

from otklik.sample.texts import KINDS, TEMPLATES, Slots, colloquial, feedback_text
from transforms.classify.engine import default_classifier
from transforms.classify.evaluate import cross_validate, evaluate, score
from transforms.taxonomy import load_feedback_types

DATASETS = Path(__file__).resolve().parent.parent / "datasets"


def sample_texts(n: int, seed: int = 7) -> pl.DataFrame:
    """Texts as the sample generator writes them (templates, slots, colloquial noise), with their kind."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        kind = rng.choice(KINDS)
        topic = rng.choice(tuple(TEMPLATES[kind]))
        slots = Slots(rng, {"store": "Москва, Варшавское ш.", "order": str(rng.randint(100000, 999999))}, 10, 31)
        text = feedback_text(kind, topic, rng, slots)
        rows.append((colloquial(text, kind, rng) if rng.random() < 0.5 else text, kind))
    return pl.DataFrame(rows, schema=["text", "kind"], orient="row")


def speed(items: int, batch: int) -> None:
    classifier = default_classifier()
    texts = sample_texts(items)["text"]
    classifier.predict(texts[:batch])  # warm-up: imports, rule compilation, first vocabulary
    started = time.perf_counter()
    for offset in range(0, items, batch):
        classifier.predict(texts[offset : offset + batch])
    elapsed = time.perf_counter() - started
    print(f"{items:,} items in {elapsed:.2f} s: {items / elapsed:,.0f} items/s (batch {batch:,})")


def cedr_sentiment(path: Path) -> pl.DataFrame:
    """CEDR sentences with a sentiment derived from their emotions (see the module docstring)."""
    emotions = pl.col("labels").str.strip_chars("[]").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    frame = pl.read_csv(path).with_columns(emotions.alias("emotions"))
    joy = pl.col("emotions").list.contains("0")
    negative = pl.col("emotions").list.eval(pl.element().is_in(["1", "3", "4"])).list.any()
    sentiment = (
        pl.when(pl.col("emotions").list.len() == 0)
        .then(pl.lit("neutral"))
        .when(joy & ~negative)
        .then(pl.lit("positive"))
        .when(negative & ~joy)
        .then(pl.lit("negative"))
    )
    return frame.with_columns(sentiment.alias("sentiment")).filter(pl.col("sentiment").is_not_null())


def quality(telecom: Path | None, bitext: Path | None) -> None:
    classifier = default_classifier()
    types = load_feedback_types()

    sample = sample_texts(4000, seed=11)
    report = evaluate(classifier, sample, "kind", "text", "kind")
    print(f"sample generator texts, kind: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}")

    cedr = cedr_sentiment(DATASETS / "cedr_emotions_ru" / "cedr-main-test.csv")
    report = evaluate(classifier, cedr, "sentiment", "text", "sentiment")
    print(f"CEDR test sentences (n={cedr.height}), sentiment, zero-shot: macro-F1 {report.macro_f1:.3f}")

    cfpb = pl.read_csv(DATASETS / "cfpb_complaints_en" / "complaints_with_narrative.csv", infer_schema=False)
    narratives = cfpb["Consumer complaint narrative"]
    out = classifier.predict(narratives)
    print(
        f"CFPB narratives (all complaints, n={narratives.len()}):"
        f" kind=complaint {out['kind'].eq('complaint').mean():.3f},"
        f" sentiment=negative {out['sentiment'].eq('negative').mean():.3f}"
    )

    if telecom is not None:
        tweets = pl.read_csv(telecom).filter(pl.col("overall") != "mixed")
        report = evaluate(classifier, tweets, "sentiment", "text", "overall")
        print(f"telecom tweets, sentiment, zero-shot: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
        labelled = tweets.select("text", sentiment="overall", score_10=pl.lit(None, pl.Float64))
        report = cross_validate(labelled, "sentiment", types, folds=5)
        print(f"telecom tweets, sentiment, 5-fold CV: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")

    if bitext is not None:
        utterances = pl.read_csv(bitext)
        predicted = classifier.predict(utterances["utterance"])["kind"].eq("complaint").to_list()
        truth = utterances["intent"].eq("complaint").to_list()
        report = score(["complaint" if t else "rest" for t in truth], ["complaint" if p else "rest" for p in predicted])
        print(
            "Bitext, intent complaint vs the rest: "
            + ", ".join(f"{c.label} P {c.precision:.3f} R {c.recall:.3f} F1 {c.f1:.3f}" for c in report.classes)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode")
    run_speed = modes.add_parser("speed", help="items/s of the default path on one core")
    run_speed.add_argument("items", type=int, nargs="?", default=200_000)
    run_speed.add_argument("batch", type=int, nargs="?", default=50_000)
    run_quality = modes.add_parser("quality", help="scores on the shipped datasets, and on research sets by path")
    run_quality.add_argument("--telecom", type=Path, help="SentiRuEval-2016 telecom_test_etalon.csv")
    run_quality.add_argument("--bitext", type=Path, help="Bitext_Sample_Customer_Service_Training_Dataset.csv")
    args = parser.parse_args()
    if args.mode == "quality":
        quality(args.telecom, args.bitext)
    else:
        speed(getattr(args, "items", 200_000), getattr(args, "batch", 50_000))


if __name__ == "__main__":
    main()
