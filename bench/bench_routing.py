"""Type and owner routing on real text, with taxonomies written as configuration for other domains.

The mechanism under test is the pipeline's own: a taxonomy CSV with hints, validated against an
org file (``transforms.taxonomy.parse_feedback_types``), compiled and matched by
``transforms.classify.rules``. Only the configuration differs (``bench/domains/<domain>/``); the
hints were written from knowledge of the domain, before looking at the scores, not fitted to
the sets.

- **restaurants** (SentiRuEval-2015, research-only, by path): each sentence that holds an explicit
  or fact aspect of category Food, Service, Interior or Price. A prediction is right when it is one
  of the sentence's categories.
- **consumer_finance** (CFPB narratives in ``datasets/``, English): the complaint's product.

    .venv/bin/python bench/bench_routing.py [--restaurants PATH/sentirueval2015_restaurants]

Prints per set: n, the share routed (a hint matched), the accuracy of routed items, and the
accuracy over all items (unrouted count as wrong), plus the same for type confidence ≥ 0.6.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transforms.classify.rules import compile_type_rules, match_types  # noqa: E402
from transforms.classify.text import normalize  # noqa: E402
from transforms.org import parse_org  # noqa: E402
from transforms.taxonomy import parse_feedback_types  # noqa: E402

DOMAINS = ROOT / "bench" / "domains"
CFPB_PRODUCTS = {
    "Credit reporting, credit repair services, or other personal consumer reports": "credit_reporting",
    "Debt collection": "debt_collection",
    "Mortgage": "mortgage",
    "Credit card or prepaid card": "credit_card",
    "Credit card": "credit_card",
    "Checking or savings account": "bank_account",
    "Bank account or service": "bank_account",
    "Student loan": "student_loan",
    "Vehicle loan or lease": "vehicle_loan",
    "Payday loan, title loan, or personal loan": "personal_loan",
    "Payday loan": "personal_loan",
    "Money transfer, virtual currency, or money service": "money_transfer",
}
RESTAURANT_CATEGORIES = {"Food": "food", "Service": "service", "Interior": "interior", "Price": "price"}
REVIEW_THRESHOLD = 0.6


def load_types(domain: str):
    folder = DOMAINS / domain
    org = parse_org((folder / "org.yaml").read_text(encoding="utf-8"))
    return parse_feedback_types((folder / "feedback_types.csv").read_text(encoding="utf-8"), org)


def route(texts: pl.Series, domain: str) -> pl.DataFrame:
    rules = compile_type_rules(load_types(domain))
    return match_types(normalize(texts), rules)


def report(name: str, truth: list[set[str]], routed: pl.DataFrame) -> dict:
    predicted = routed["rule_type"].to_list()
    confidence = routed["rule_confidence"].fill_null(0).to_list()
    n = len(truth)
    hits = [p is not None and p in t for p, t in zip(predicted, truth, strict=True)]
    assigned = [p is not None for p in predicted]
    sure = [a and c >= REVIEW_THRESHOLD for a, c in zip(assigned, confidence, strict=True)]
    out = {
        "set": name,
        "n": n,
        "routed_share": sum(assigned) / n,
        "accuracy_of_routed": sum(hits) / max(sum(assigned), 1),
        "accuracy_overall": sum(hits) / n,
        "sure_share": sum(sure) / n,
        "accuracy_of_sure": sum(h for h, s in zip(hits, sure, strict=True) if s) / max(sum(sure), 1),
    }
    print(
        f"{name:<18} n={n:<6} routed {out['routed_share']:.1%}  accuracy of routed {out['accuracy_of_routed']:.3f}"
        f"  overall {out['accuracy_overall']:.3f}  |  conf≥{REVIEW_THRESHOLD}: {out['sure_share']:.1%}"
        f" of items, accuracy {out['accuracy_of_sure']:.3f}"
    )
    return out


_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")


def restaurant_sentences(folder: Path) -> tuple[list[str], list[set[str]]]:
    texts, truth = [], []
    for split in ("train", "test"):
        reviews = {}
        for line in (folder / f"reviews_{split}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            reviews[str(row["id"])] = row["text"]
        aspects = pl.read_csv(folder / f"aspects_{split}.csv", infer_schema=False).filter(
            pl.col("category").is_in(list(RESTAURANT_CATEGORIES)) & pl.col("type").is_in(["explicit", "fct"])
        )
        by_sentence: dict[tuple[str, int], set[str]] = {}
        spans: dict[tuple[str, int], str] = {}
        for row in aspects.iter_rows(named=True):
            text = reviews.get(row["review_id"])
            if text is None:
                continue
            start = int(row["from"])
            if text[start : int(row["to"])] != row["term"]:
                continue  # offsets that do not point at the term (a few in the set): skip, do not guess
            for match in _SENTENCE.finditer(text):
                if match.start() <= start < match.end():
                    key = (row["review_id"], match.start())
                    by_sentence.setdefault(key, set()).add(RESTAURANT_CATEGORIES[row["category"]])
                    spans[key] = match.group().strip()
                    break
        for key, categories in by_sentence.items():
            texts.append(spans[key])
            truth.append(categories)
    return texts, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restaurants", type=Path, help="folder with reviews_*.jsonl and aspects_*.csv")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    cfpb = pl.read_csv(ROOT / "datasets" / "cfpb_complaints_en" / "complaints_with_narrative.csv", infer_schema=False)
    cfpb = cfpb.filter(pl.col("Product").is_in(list(CFPB_PRODUCTS)))
    truth = [{CFPB_PRODUCTS[p]} for p in cfpb["Product"]]
    results.append(report("consumer_finance", truth, route(cfpb["Consumer complaint narrative"], "consumer_finance")))
    if args.restaurants:
        texts, truth = restaurant_sentences(args.restaurants)
        results.append(report("restaurants", truth, route(pl.Series(texts), "restaurant")))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
