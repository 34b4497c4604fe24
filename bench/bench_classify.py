"""Classifier throughput and quality (a benchmark, not a test; run it by hand).

    POLARS_MAX_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python bench/bench_classify.py speed [items] [batch]
    .venv/bin/python bench/bench_classify.py quality [--research NAME=PATH ...] [--bitext CSV]
    .venv/bin/otklik classify eval --cross-domain [--research NAME=PATH ...]   # leave one domain out

``speed``: the default path (lemmas with the vocabulary cache, taxonomy rules, hashed features,
kind and sentiment heads) over texts from the sample generator's templates, one core, in
batches of ``batch`` (the build classifies a month of items at once). The first batch warms the
lemma cache; items/s is over the later ones.

``quality``: kind accuracy on the sample generator's texts (ours: it proves nothing about real
text), then the default model scored on every domain of the corpus (``transforms/classify/corpus``:
the repository's seed, CEDR and CFPB, plus the research-only SentiRuEval sets given by path with
``--research restaurants=DIR``, ``cars=DIR``, ``telecom=DIR``), and Bitext's sample customer-service
utterances when given (intent 'complaint' vs the rest). The honest figure is the cross-domain one:
``otklik classify eval --cross-domain`` trains without each domain in turn.
"""

import argparse
import random
import time
from pathlib import Path

import polars as pl

from otklik.sample.texts import KINDS, TEMPLATES, Slots, colloquial, feedback_text
from transforms.classify import corpus
from transforms.classify.cross_domain import fixed_model, table_lines
from transforms.classify.engine import default_classifier
from transforms.classify.evaluate import evaluate, score


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


def quality(research: list[str] | None, bitext: Path | None) -> None:
    classifier = default_classifier()

    sample = sample_texts(4000, seed=11)
    report = evaluate(classifier, sample, "kind", "text", "kind")
    print(f"sample generator texts, kind: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}")
    print("(our own generator: a score on its texts proves nothing about real text; the table below does)")

    labelled = corpus.load_corpus(corpus.DEFAULT_SOURCES, corpus.parse_research(research))
    print("\nthe default model on every domain (seed, cedr and cfpb are in its training data):")
    for line in table_lines(fixed_model(labelled, classifier, label="default.json")):
        print(line)

    if bitext is not None:
        utterances = pl.read_csv(bitext)
        predicted = classifier.predict(utterances["utterance"])["kind"].eq("complaint").to_list()
        truth = utterances["intent"].eq("complaint").to_list()
        report = score(["complaint" if t else "rest" for t in truth], ["complaint" if p else "rest" for p in predicted])
        print(
            "\nBitext, intent complaint vs the rest: "
            + ", ".join(f"{c.label} P {c.precision:.3f} R {c.recall:.3f} F1 {c.f1:.3f}" for c in report.classes)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode")
    run_speed = modes.add_parser("speed", help="items/s of the default path on one core")
    run_speed.add_argument("items", type=int, nargs="?", default=200_000)
    run_speed.add_argument("batch", type=int, nargs="?", default=50_000)
    run_quality = modes.add_parser("quality", help="scores on the shipped datasets, and on research sets by path")
    run_quality.add_argument("--research", action="append", help="NAME=PATH: restaurants, cars or telecom")
    run_quality.add_argument("--bitext", type=Path, help="Bitext_Sample_Customer_Service_Training_Dataset.csv")
    args = parser.parse_args()
    if args.mode == "quality":
        quality(args.research, args.bitext)
    else:
        speed(getattr(args, "items", 200_000), getattr(args, "batch", 50_000))


if __name__ == "__main__":
    main()
