"""`otklik classify ...`: train, predict, eval, the review queue and manual labels."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

classify_app = typer.Typer(
    help="Classify feedback: kind, sentiment, type, owner. Train, predict, evaluate, review.", no_args_is_help=True
)
console = Console()

ModelOption = Annotated[
    Path | None, typer.Option(help="Model artifact (default: transforms/classify/models/default.json).")
]
TASKS = ("kind", "sentiment", "type")
ResearchOption = Annotated[
    list[str] | None,
    typer.Option(
        "--research",
        help="A research-only set by path, NAME=PATH (restaurants, cars, telecom); never copied into the repository.",
    ),
]


def _classifier(model: Path | None):
    from transforms.classify.engine import DEFAULT_MODEL_PATH, load_classifier

    return load_classifier(model or DEFAULT_MODEL_PATH)


def _write_for_people(frame, out: Path) -> None:
    """``write_table``, a CSV with formula-like cells behind a ``'`` (a spreadsheet opens it: customers'
    texts such as "=HYPERLINK(...)" must stay texts); JSONL as it is, for programs."""
    from transforms.classify.io import write_table
    from transforms.normalize.text import neutralize_formulas

    write_table(neutralize_formulas(frame) if out.suffix.lower() == ".csv" else frame, out)


def _scores(frame, score_col: str | None):
    import polars as pl

    if score_col is None:
        return None
    values = frame[score_col].cast(pl.String).str.strip_chars().str.replace(",", ".")
    scores = values.cast(pl.Float64, strict=False)
    bad = scores.is_null() & values.is_not_null() & (values != "")
    if bad.any():
        raise ValueError(f"--score-col {score_col}: {values.filter(bad)[0]!r} is not a number (0-10 expected)")
    if ((scores < 0) | (scores > 10)).any():
        raise ValueError(f"--score-col {score_col}: scores must be on the 0-10 scale")
    return scores


@classify_app.command()
def predict(
    file: Annotated[Path, typer.Option("--file", help="Input CSV or JSONL.")],
    text_col: Annotated[str, typer.Option("--text-col", help="Column with the feedback text.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV or JSONL: the input rows plus the outputs.")],
    score_col: Annotated[str | None, typer.Option("--score-col", help="Optional 0-10 score column.")] = None,
    model: ModelOption = None,
) -> None:
    """Classify every row of a file: kind, sentiment, feedback type, owner, confidence, method, versions."""
    import polars as pl

    from transforms.classify.io import read_table, require_columns

    frame = read_table(file)
    require_columns(frame, {"text": text_col, "score": score_col}, file.name)
    classifier = _classifier(model)
    result = classifier.predict(frame[text_col], _scores(frame, score_col))
    owners = pl.DataFrame(
        {
            "feedback_type": [t.feedback_type_id for t in classifier.types],
            "directorate_id": [t.directorate_id for t in classifier.types],
            "department_id": [t.department_id for t in classifier.types],
        }
    )
    result = (
        result.rename({"predicted_type_id": "feedback_type"})
        .join(owners, on="feedback_type", how="left", maintain_order="left")
        .with_columns(
            feedback_type=pl.col("feedback_type").fill_null("unclassified"),
            taxonomy_version=pl.lit(classifier.taxonomy_version),
            model_version=pl.lit(classifier.model_version),
        )
    )
    clashes = [c for c in result.columns if c in frame.columns]
    _write_for_people(pl.concat([frame, result.rename({c: f"predicted_{c}" for c in clashes})], how="horizontal"), out)
    console.print(
        f"{frame.height:,} rows classified into {out} ({classifier.model_version}, {classifier.taxonomy_version})",
        markup=False,
    )


def _cross_domain(research: list[str] | None, domains: list[str] | None, model: Path | None, as_json: bool) -> None:
    from transforms.classify import corpus as corpora
    from transforms.classify.cross_domain import fixed_model, leave_one_domain_out, table_lines
    from transforms.classify.train import train_model
    from transforms.taxonomy import load_feedback_types

    labelled = corpora.load_corpus(corpora.DEFAULT_SOURCES, corpora.parse_research(research))
    known = sorted(labelled["domain"].unique().to_list())
    unknown = sorted(set(domains or []) - set(known))
    if unknown:
        raise ValueError(f"--domain {', '.join(unknown)}: not in the corpus (domains: {', '.join(known)})")
    if model is not None:
        scores = fixed_model(labelled, _classifier(model), domains, model.name)
    else:
        scores = leave_one_domain_out(labelled, load_feedback_types(), train_model, domains)
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in scores], ensure_ascii=False))
    else:
        for line in table_lines(scores):
            typer.echo(line)


@classify_app.command("eval")
def eval_(
    file: Annotated[Path | None, typer.Option("--file", help="Labelled CSV or JSONL.")] = None,
    text_col: Annotated[str | None, typer.Option("--text-col")] = None,
    label_col: Annotated[str | None, typer.Option("--label-col")] = None,
    task: Annotated[str, typer.Option("--task", help="kind | sentiment | type")] = "kind",
    score_col: Annotated[str | None, typer.Option("--score-col")] = None,
    cv: Annotated[int, typer.Option("--cv", min=0, help="k>1: train on the file in k-fold CV instead.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    model: ModelOption = None,
    cross_domain: Annotated[
        bool,
        typer.Option(
            "--cross-domain",
            help="Leave one domain out over the corpus (plus --research sets): train on the rest, score the one"
            " left out. With --model: score that model on every domain instead (no training).",
        ),
    ] = False,
    research: ResearchOption = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="With --cross-domain: only these held-out domains.")
    ] = None,
) -> None:
    """Per-class precision/recall/F1, macro-F1 and the confusion matrix of predictions against labels."""
    import polars as pl

    if cross_domain:
        _cross_domain(research, domain, model, as_json)
        return
    if file is None or text_col is None or label_col is None:
        raise ValueError("eval needs --file, --text-col and --label-col (or --cross-domain)")

    from transforms.classify.evaluate import cross_validate, evaluate
    from transforms.classify.io import read_table, require_columns

    if task not in TASKS:
        raise ValueError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    frame = read_table(file)
    require_columns(frame, {"text": text_col, "label": label_col, "score": score_col}, file.name)
    frame = frame.filter(pl.col(label_col).is_not_null() & (pl.col(label_col).str.strip_chars() != ""))
    if cv > 1:
        from transforms.taxonomy import load_feedback_types

        column = {"kind": "kind", "sentiment": "sentiment", "type": "feedback_type"}[task]
        labelled = pl.DataFrame(
            {"text": frame[text_col], column: frame[label_col].str.strip_chars(), "score_10": _scores(frame, score_col)}
        )
        report = cross_validate(labelled, task, load_feedback_types(), folds=cv)
    else:
        frame = frame.with_columns(_score=_scores(frame, score_col)) if score_col else frame
        report = evaluate(_classifier(model), frame, task, text_col, label_col, "_score" if score_col else None)
    if as_json:
        typer.echo(
            json.dumps({"task": task, "cv_folds": cv if cv > 1 else None, **report.to_dict()}, ensure_ascii=False)
        )
    else:
        for line in report.lines():
            console.print(line, highlight=False, markup=False)


@classify_app.command()
def train(
    labels: Annotated[
        list[Path] | None,
        typer.Option("--labels", help="More labelled CSV/JSONL/XLSX (text, kind, sentiment, feedback_type, score_10)."),
    ] = None,
    research: ResearchOption = None,
    corpus: Annotated[
        bool, typer.Option(help="Start from the repository's corpus (seed, CEDR, CFPB); --no-corpus: only --labels.")
    ] = True,
    with_manual: Annotated[bool, typer.Option(help="Add the manual labels stored in the warehouse.")] = False,
    out: Annotated[Path | None, typer.Option(help="Artifact path (default: the pipeline's default model).")] = None,
) -> None:
    """Fit the model on the repository's corpus (seed + CEDR + CFPB, each source weighed equally) plus any
    --labels / --research / --with-manual, and write a versioned artifact. The committed default model is
    this command with --research restaurants=…, cars=… and telecom=… (the SentiRuEval sets)."""
    import polars as pl

    from transforms.classify import corpus as corpora
    from transforms.classify.engine import DEFAULT_MODEL_PATH
    from transforms.classify.io import read_table
    from transforms.classify.train import train_model

    research_paths = corpora.parse_research(research)
    names = corpora.DEFAULT_SOURCES if corpus else ()
    frames = [corpora.load_corpus(names, research_paths)] if names or research_paths else []
    for path in labels or []:
        frame = read_table(path)
        if "text" not in frame.columns:
            raise ValueError(f"{path.name} has no 'text' column")
        frames.append(
            frame.select(
                pl.col("text"),
                *[
                    (pl.col(c) if c in frame.columns else pl.lit(None, pl.String)).cast(pl.String).alias(c)
                    for c in ("kind", "sentiment", "feedback_type")
                ],
                (pl.col("score_10") if "score_10" in frame.columns else pl.lit(None))
                .cast(pl.Float64)
                .alias("score_10"),
                source=pl.lit(f"labels:{path.name}"),
            )
        )
    if with_manual:
        from warehouse import connect
        from warehouse.labels import labelled_training_rows

        with connect(read_only=True) as con:
            frames.append(labelled_training_rows(con).with_columns(source=pl.lit("warehouse:raw.manual_labels")))
    if not frames:
        raise ValueError("nothing to train on: --no-corpus needs --labels, --research or --with-manual")
    labelled = pl.concat(frames, how="diagonal_relaxed")
    provenance = {
        "sources": corpora.provenance(names, research_paths),
        "labels": [p.name for p in labels or []] + (["warehouse:raw.manual_labels"] if with_manual else []),
    }
    model = train_model(labelled, provenance=provenance)
    target = out or DEFAULT_MODEL_PATH
    version = model.save(target)
    heads = ", ".join(f"{name} ({len(h.classes)} classes)" for name, h in sorted(model.heads.items()))
    console.print(f"trained on {labelled.height:,} rows: {heads}\nwrote {target}: {version}", markup=False)


@classify_app.command("import-labels")
def import_labels(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX with feedback_id and kind / sentiment / feedback_type_id.")],
    labelled_by: Annotated[str, typer.Option(help="Who labelled them.")],
    column: Annotated[
        list[str] | None, typer.Option(help="Map a CRM export's column: label=column, e.g. kind=Тип обращения.")
    ] = None,
) -> None:
    """Store manual labels; the next build applies them (method 'manual') and train can learn from them."""
    from transforms.classify.io import read_table
    from transforms.classify.labels import parse_labels
    from transforms.taxonomy import load_feedback_types
    from warehouse import connect
    from warehouse.labels import store_labels

    mapping = {}
    for item in column or []:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"--column {item!r}: expected label=column")
        mapping[key.strip()] = value.strip()
    labels = parse_labels(read_table(file), load_feedback_types(), mapping)
    with connect() as con:
        n = store_labels(con, labels, labelled_by=labelled_by, source=file.name)
    console.print(f"stored {n:,} manual label(s) from {file.name}; they apply from the next build", markup=False)


@classify_app.command("review-queue")
def review_queue_cmd(
    limit: Annotated[int, typer.Option(min=1, help="How many items.")] = 50,
    out: Annotated[Path | None, typer.Option(help="Write the queue as CSV/JSONL (a label file to fill in).")] = None,
) -> None:
    """The least certain, not yet labelled items of the last build: what a person should read next."""
    from warehouse import connect
    from warehouse.labels import review_queue

    with connect(read_only=True) as con:
        queue = review_queue(con, limit=limit)
    if out is not None:
        _write_for_people(queue, out)
        console.print(f"{queue.height} item(s) to review written to {out}", markup=False)
        return
    for row in queue.iter_rows(named=True):
        text = (row["body_text"] or "").replace("\n", " ")[:100]
        console.print(
            f"{row['feedback_id']}  {row['confidence']:.2f}  {row['kind']}/{row['feedback_type_id']}  {text}",
            highlight=False,
            markup=False,
        )
    console.print(f"{queue.height} item(s)")
