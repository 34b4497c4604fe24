"""The training and evaluation corpus: real labelled sets, each mapped to otklik's kind and sentiment.

None of the real sets carries otklik's labels (complaint / wish / thanks / question / other and
negative / neutral / positive), so each source has a documented mapping here, tested in
``tests/transforms/classify/test_corpus.py``. A label the source cannot support stays null: the
row then trains and scores only the other task.

- ``seed`` (ours, hand-written): kind and sentiment as labelled.
- ``cedr`` (CEDR sentences of blogs, news and tweets; Apache-2.0, in ``datasets/``): kind null
  (these sentences are not feedback). Sentiment from the emotions: joy alone → positive; sadness,
  fear or anger without joy → negative; no emotion → neutral; surprise alone, or joy mixed with a
  negative emotion → null.
- ``cfpb`` (CFPB complaint narratives, English; US public data, in ``datasets/``): every narrative
  was filed with the regulator as a complaint → complaint, negative.
- ``restaurants`` and ``cars`` (SentiRuEval-2015 reviews; research-only, by path): the review's
  overall (``Whole``) sentiment. Negative → complaint, negative; positive → thanks, positive;
  neutral → kind null, neutral; both (mixed) and absence → null.
- ``telecom`` (SentiRuEval-2016 tweets; research-only, by path): sentiment = the tweet's overall
  sentiment (``mixed`` → null). Kind only for a customer's own tweet (it addresses someone with
  ``@``, is not a retweet and has no link): negative → complaint, positive → thanks; news, ads
  and retweets → null, since a headline about an operator is not feedback to it.

Research-only sets (no licence to redistribute) never enter the repository: ``train`` and the
cross-domain evaluation take their path (``--research NAME=PATH``) and the model artifact records
each file's sha256, so a model trained on them is reproducible by whoever has the same files.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[2]
SEED_LABELS = Path(__file__).with_name("seed") / "seed_labels.csv"
DATASETS = REPO / "datasets"
COLUMNS = {
    "text": pl.String,
    "kind": pl.String,
    "sentiment": pl.String,
    "score_10": pl.Float64,
    "source": pl.String,
    "domain": pl.String,
    "language": pl.String,
}
_NULL = pl.lit(None, pl.String)


def _frame(frame: pl.DataFrame, source: str, language: str) -> pl.DataFrame:
    out = frame.with_columns(
        source=pl.lit(source),
        domain=pl.lit(source),
        language=pl.lit(language),
        text=pl.col("text").cast(pl.String).str.strip_chars(),
    )
    if "score_10" not in out.columns:
        out = out.with_columns(score_10=pl.lit(None, pl.Float64))
    out = out.select([pl.col(c).cast(t) for c, t in COLUMNS.items()])
    return out.filter(
        (pl.col("text").str.len_chars() > 0) & (pl.col("kind").is_not_null() | pl.col("sentiment").is_not_null())
    )


def seed(path: Path = SEED_LABELS) -> pl.DataFrame:
    """The project's hand-written seed: kind and sentiment as labelled."""
    return _frame(pl.read_csv(path, schema_overrides={"score_10": pl.Float64}), "seed", "ru")


def cedr_sentiment() -> pl.Expr:
    """CEDR emotion ids in ``labels`` (0 joy, 1 sadness, 2 surprise, 3 fear, 4 anger) → sentiment or null."""
    emotions = pl.col("labels").str.strip_chars("[]").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    joy = emotions.list.contains("0")
    negative = emotions.list.eval(pl.element().is_in(["1", "3", "4"])).list.any()
    return (
        pl.when(emotions.list.len() == 0)
        .then(pl.lit("neutral"))
        .when(joy & ~negative)
        .then(pl.lit("positive"))
        .when(negative & ~joy)
        .then(pl.lit("negative"))
        .otherwise(_NULL)
    )


def cedr(folder: Path = DATASETS / "cedr_emotions_ru", splits: tuple[str, ...] = ("train", "test")) -> pl.DataFrame:
    frames = []
    for split in splits:
        raw = pl.read_csv(folder / f"cedr-main-{split}.csv", infer_schema=False)
        frames.append(raw.select("text", kind=_NULL, sentiment=cedr_sentiment()))
    return _frame(pl.concat(frames), "cedr", "ru")


def cfpb(folder: Path = DATASETS / "cfpb_complaints_en") -> pl.DataFrame:
    raw = pl.read_csv(folder / "complaints_with_narrative.csv", infer_schema=False)
    return _frame(
        raw.select(text="Consumer complaint narrative", kind=pl.lit("complaint"), sentiment=pl.lit("negative")),
        "cfpb",
        "en",
    )


def whole_review_labels(whole: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A SentiRuEval review's overall sentiment → (kind, sentiment)."""
    kind = pl.when(whole == "negative").then(pl.lit("complaint")).when(whole == "positive").then(pl.lit("thanks"))
    sentiment = pl.when(whole.is_in(["negative", "neutral", "positive"])).then(whole)
    return kind.otherwise(_NULL), sentiment.otherwise(_NULL)


def _review_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("reviews_*.jsonl"))
    if not files:
        raise ValueError(f"{path}: no reviews_*.jsonl file (the SentiRuEval-2015 reviews, one JSON per line)")
    return files


def sentirueval_reviews(path: Path, source: str) -> pl.DataFrame:
    frames = []
    for file in _review_files(path):
        raw = pl.read_ndjson(file, infer_schema_length=None)
        if "cat_Whole" not in raw.columns or "text" not in raw.columns:
            raise ValueError(f"{file}: expected the fields text and cat_Whole (SentiRuEval-2015 reviews)")
        kind, sentiment = whole_review_labels(pl.col("cat_Whole"))
        frames.append(raw.select("text", kind=kind, sentiment=sentiment))
    return _frame(pl.concat(frames), source, "ru")


def restaurants(path: Path) -> pl.DataFrame:
    return sentirueval_reviews(path, "restaurants")


def cars(path: Path) -> pl.DataFrame:
    return sentirueval_reviews(path, "cars")


def is_customer_tweet() -> pl.Expr:
    """A customer's own tweet: it addresses someone, is not a retweet and carries no link."""
    text = pl.col("text")
    return text.str.contains("@") & ~text.str.starts_with("RT ") & ~text.str.contains("http")


def telecom(path: Path) -> pl.DataFrame:
    file = path / "telecom_test_etalon.csv" if path.is_dir() else path
    raw = pl.read_csv(file, infer_schema=False)
    if "overall" not in raw.columns or "text" not in raw.columns:
        raise ValueError(f"{file}: expected the columns text and overall (SentiRuEval-2016 tweets)")
    overall = pl.col("overall")
    kind = (
        pl.when(is_customer_tweet() & (overall == "negative"))
        .then(pl.lit("complaint"))
        .when(is_customer_tweet() & (overall == "positive"))
        .then(pl.lit("thanks"))
        .otherwise(_NULL)
    )
    sentiment = pl.when(overall.is_in(["negative", "neutral", "positive"])).then(overall).otherwise(_NULL)
    return _frame(raw.select("text", kind=kind, sentiment=sentiment), "telecom", "ru")


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    licence: str
    origin: str
    in_repository: bool
    load: Callable[..., pl.DataFrame]
    default_path: Path | None = None


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "seed",
            "otklik's hand-written seed (shops, delivery, banks, telecom, apps)",
            "the project's own",
            "transforms/classify/seed/seed_labels.csv",
            True,
            seed,
            SEED_LABELS,
        ),
        Source(
            "cedr",
            "CEDR: sentences of LiveJournal, Lenta.ru news and tweets with emotions",
            "Apache-2.0",
            "github searayeah/russian-sentiment-emotion-datasets@b43a50a5 CEDR/",
            True,
            cedr,
            DATASETS / "cedr_emotions_ru",
        ),
        Source(
            "cfpb",
            "CFPB consumer complaint narratives (English)",
            "US-government public data",
            "github ZiyuYan9/consumer_complaints@ecece4d9",
            True,
            cfpb,
            DATASETS / "cfpb_complaints_en",
        ),
        Source(
            "restaurants",
            "SentiRuEval-2015 restaurant reviews",
            "research-only (not redistributed)",
            "github kovalon/NeuroNetwork@6d48f0d3",
            False,
            restaurants,
        ),
        Source(
            "cars",
            "SentiRuEval-2015 car owner reviews",
            "research-only (not redistributed)",
            "github searayeah/russian-sentiment-emotion-datasets@b43a50a5 SentiRuEval-2015-subtask-1/",
            False,
            cars,
        ),
        Source(
            "telecom",
            "SentiRuEval-2016 tweets about telecom operators",
            "research-only (not redistributed)",
            "github mokoron/sentirueval@95b24c09",
            False,
            telecom,
        ),
    )
}
# The default training corpus: what the repository can reproduce on its own.
DEFAULT_SOURCES = ("seed", "cedr", "cfpb")


def digest(path: Path) -> str:
    """The first 16 hex digits of the sha256 over a file, or over a folder's files (names and bytes)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.name.encode())
        sha.update(file.read_bytes())
    return sha.hexdigest()[:16]


def parse_research(values: list[str] | None) -> dict[str, Path]:
    """``NAME=PATH`` options → {name: path}, refusing unknown names and missing paths."""
    out: dict[str, Path] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or name not in SOURCES or SOURCES[name].in_repository:
            research = ", ".join(n for n, s in SOURCES.items() if not s.in_repository)
            raise ValueError(f"--research {value!r}: expected NAME=PATH with NAME one of {research}")
        if not Path(path).exists():
            raise ValueError(f"--research {name}: no such file or folder {path}")
        out[name] = Path(path)
    return out


def load_corpus(names: tuple[str, ...] = DEFAULT_SOURCES, research: dict[str, Path] | None = None) -> pl.DataFrame:
    """The rows of the named in-repository sources plus the research sources given by path."""
    research = research or {}
    frames = [SOURCES[name].load() for name in names]
    frames += [SOURCES[name].load(path) for name, path in sorted(research.items())]
    if not frames:
        raise ValueError("no source to load")
    return pl.concat(frames, how="vertical_relaxed")


def provenance(names: tuple[str, ...], research: dict[str, Path] | None = None) -> list[dict]:
    """What the artifact records of each source: name, licence, origin, file digest (research: path's name)."""
    out = []
    for name in [*names, *sorted(research or {})]:
        source = SOURCES[name]
        path = source.default_path if source.in_repository else (research or {})[name]
        out.append(
            {
                "name": name,
                "licence": source.licence,
                "origin": source.origin,
                "in_repository": source.in_repository,
                "sha256_16": digest(path),
            }
        )
    return out


def source_weights(frame: pl.DataFrame, task: str, cap: float = 3.0) -> pl.Series:
    """Per-row sample weight so that each source brings the same total weight to ``task``.

    A small source's rows weigh more, but at most ``cap`` times a row of the average source, so
    that 28 negative restaurant reviews do not each count as 50 sentences.
    """
    labelled = frame.filter(pl.col(task).is_not_null())
    sources = max(labelled["source"].n_unique(), 1)
    mean = labelled.height / sources
    weight = (pl.lit(mean) / pl.len().over("source")).clip(upper_bound=cap)
    return labelled.select(weight.alias("weight"))["weight"]
