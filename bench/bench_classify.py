"""Classifier throughput and quality (a benchmark, not a test; run it by hand).

    POLARS_MAX_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python bench/bench_classify.py speed [items] [batch]
    .venv/bin/python bench/bench_classify.py quality [shared_dir]

``speed``: the default path (lemmas with the vocabulary cache, taxonomy rules, hashed features,
kind and sentiment heads) over texts from the sample generator's templates, one core, in
batches of ``batch`` (the build classifies a month of items at once). The first batch warms the
lemma cache; items/s is over the later ones.

``quality``: sentiment macro-F1 on the SentiRuEval-2016 telecom tweets (zero-shot: the default
model never saw them; and ``train`` in 5-fold CV), kind accuracy on the sample generator's texts,
and what makes sense on the English sets (CFPB narratives are all complaints; Bitext intents
'complaint' vs the rest).
"""

import os
import random
import sys
import time
from pathlib import Path

import polars as pl

from otklik.sample.texts import KINDS, TEMPLATES, Slots, colloquial, feedback_text
from transforms.classify.engine import default_classifier
from transforms.classify.evaluate import cross_validate, evaluate, score
from transforms.taxonomy import load_feedback_types

SHARED = (
    Path(os.environ.get("OTKLIK_SHARED_DIR", Path(__file__).resolve().parent.parent.parent / "shared")) / "datasets"
)


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


def quality(shared: Path) -> None:
    classifier = default_classifier()
    types = load_feedback_types()
    tweets = pl.read_csv(shared / "sentirueval2016_telecom_tweets" / "telecom_test_etalon.csv")
    tweets = tweets.filter(pl.col("overall") != "mixed")
    report = evaluate(classifier, tweets, "sentiment", "text", "overall")
    print(f"telecom tweets, sentiment, zero-shot: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
    labelled = tweets.select("text", sentiment="overall", score_10=pl.lit(None, pl.Float64))
    report = cross_validate(labelled, "sentiment", types, folds=5)
    print(f"telecom tweets, sentiment, train 5-fold CV: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")

    sample = sample_texts(4000, seed=11)
    report = evaluate(classifier, sample, "kind", "text", "kind")
    print(f"sample generator texts, kind: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}")

    cfpb = pl.read_csv(shared / "cfpb_complaints_sample_en" / "complaints_sample.csv", infer_schema=False)
    narratives = cfpb.filter(pl.col("Consumer complaint narrative").is_not_null())["Consumer complaint narrative"]
    out = classifier.predict(narratives)
    print(
        f"CFPB narratives (all complaints, n={narratives.len()}):"
        f" kind=complaint {out['kind'].eq('complaint').mean():.3f},"
        f" sentiment=negative {out['sentiment'].eq('negative').mean():.3f}"
    )

    bitext = pl.read_csv(shared / "bitext_customer_service_en" / "Bitext_Sample_Customer_Service_Training_Dataset.csv")
    predicted = classifier.predict(bitext["utterance"])["kind"].eq("complaint").to_list()
    truth = bitext["intent"].eq("complaint").to_list()
    report = score(["complaint" if t else "rest" for t in truth], ["complaint" if p else "rest" for p in predicted])
    print(
        "Bitext, intent complaint vs the rest: "
        + ", ".join(f"{c.label} P {c.precision:.3f} R {c.recall:.3f} F1 {c.f1:.3f}" for c in report.classes)
    )


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if mode == "speed":
        items = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
        speed(items, int(sys.argv[3]) if len(sys.argv) > 3 else 50_000)
    else:
        quality(Path(sys.argv[2]) if len(sys.argv) > 2 else SHARED)
