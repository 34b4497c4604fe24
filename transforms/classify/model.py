"""The statistical part: hashed word 1-2-grams + cue features → linear heads with calibrated confidence.

Features are computed set-based: a batch is exploded to (row, feature) pairs, each *distinct*
feature string is hashed once (MurmurHash3, stable across versions and machines) into
``N_FEATURES`` buckets, and rows become binary, L2-normalized sparse vectors. A head (kind,
sentiment, type) is a multinomial logistic regression; its confidence is calibrated by one
temperature fitted on out-of-fold predictions (5-fold), i.e. the softmax of ``scores / T``.

The artifact is JSON text (weights of the buckets any training row used, rounded to 4 decimals),
so it is diffable, can be stored in ``audit.config_versions`` like other config, and its sha256
is the model version. Predictions are always computed from the loaded artifact, so the same
artifact and inputs give identical outputs.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import mmh3
import numpy as np
import polars as pl
from scipy import sparse

N_FEATURES = 2**18
ARTIFACT_FORMAT = "otklik-linear-v1"
WEIGHT_DECIMALS = 4


class FeatureHasher:
    """Feature string → bucket, with a cache (a Polars table) over the distinct features seen."""

    def __init__(self, n_features: int = N_FEATURES) -> None:
        self.n_features = n_features
        self.table = pl.DataFrame(schema={"feature": pl.String, "col": pl.Int32})

    def buckets(self, features: list[str]) -> list[int]:
        # MurmurHash3 (x86, 32 bits) of the UTF-8 bytes, seed 0, unsigned: the values scikit-learn's
        # murmurhash3_32(f, seed=0, positive=True) gives, with which the committed model was trained (the
        # test holds the two equal). The mmh3 package, not scikit-learn's: importing any part of scikit-learn
        # imports all of it and SciPy's statistics (about 0.7 s in a fresh process) for one hash function
        return [mmh3.hash(f, 0, signed=False) % self.n_features for f in features]

    def lookup(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """``pairs`` (row, feature) with the feature's bucket as ``col``; new features are hashed once."""
        if self.table.height > 2_000_000:
            self.table = self.table.clear()
        distinct = pairs["feature"].unique()
        new = distinct.filter(~distinct.is_in(self.table["feature"].implode()))
        if new.len():
            fresh = pl.DataFrame({"feature": new, "col": pl.Series(self.buckets(new.to_list()), dtype=pl.Int32)})
            self.table = pl.concat([self.table, fresh])
        return pairs.join(self.table, on="feature", how="left")


def feature_pairs(norm: pl.Series, extra: pl.Series) -> pl.DataFrame:
    """(row, feature) pairs: lemma unigrams and bigrams of ``norm``, plus ``extra`` feature lists."""
    rows = pl.int_range(norm.len(), eager=True, dtype=pl.UInt32)
    tokens = pl.DataFrame({"row": rows, "tok": norm.fill_null("").str.split(" ")}).explode("tok")
    tokens = tokens.filter(pl.col("tok").is_not_null() & (pl.col("tok") != ""))
    bigrams = tokens.with_columns(nxt=pl.col("tok").shift(-1), nrow=pl.col("row").shift(-1)).filter(
        pl.col("nrow") == pl.col("row")
    )
    extras = pl.DataFrame({"row": rows, "tok": extra}).explode("tok").drop_nulls("tok")
    return pl.concat(
        [
            tokens.select("row", feature="w:" + pl.col("tok")),
            bigrams.select("row", feature="b:" + pl.col("tok") + " " + pl.col("nxt")),
            extras.select("row", feature="c:" + pl.col("tok")),
        ]
    )


def vectorize(norm: pl.Series, extra: pl.Series, hasher: FeatureHasher) -> sparse.csr_matrix:
    """Binary bag of hashed features per row, L2-normalized (a bucket hit twice counts once)."""
    cells = hasher.lookup(feature_pairs(norm, extra))
    x = sparse.csr_matrix(
        (np.ones(cells.height), (cells["row"].to_numpy(), cells["col"].to_numpy())),
        shape=(norm.len(), hasher.n_features),
    )
    x.sum_duplicates()
    x.data[:] = 1.0
    per_row = np.diff(x.indptr)
    x.data /= np.sqrt(np.repeat(per_row, per_row))
    return x


@dataclass
class Head:
    """One linear classifier over the shared features."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_classes), dense for fast sparse @ dense
    intercept: np.ndarray
    temperature: float

    def proba(self, x: sparse.csr_matrix) -> np.ndarray:
        scores = (x @ self.weights + self.intercept) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, x: sparse.csr_matrix) -> tuple[list[str], np.ndarray]:
        p = self.proba(x)
        best = p.argmax(axis=1)
        return [self.classes[i] for i in best], p[np.arange(len(best)), best]

    def to_json(self) -> dict:
        used = np.flatnonzero(np.abs(self.weights).sum(axis=1))
        return {
            "classes": list(self.classes),
            "intercept": [round(float(v), WEIGHT_DECIMALS) for v in self.intercept],
            "temperature": round(self.temperature, WEIGHT_DECIMALS),
            "weights": {str(int(i)): [round(float(v), WEIGHT_DECIMALS) for v in self.weights[i]] for i in used},
        }

    @classmethod
    def from_json(cls, data: dict, n_features: int) -> "Head":
        classes = tuple(data["classes"])
        weights = np.zeros((n_features, len(classes)))
        if data["weights"]:
            rows = np.fromiter(map(int, data["weights"].keys()), dtype=np.int64, count=len(data["weights"]))
            weights[rows] = np.array(list(data["weights"].values()), dtype=float)
        return cls(classes, weights, np.asarray(data["intercept"], dtype=float), float(data["temperature"]))


@dataclass
class Model:
    """The artifact: heads by task ('kind', 'sentiment', optionally 'type') plus provenance."""

    heads: dict[str, Head]
    n_features: int = N_FEATURES
    provenance: dict | None = None
    _text: str | None = None

    def to_text(self) -> str:
        payload = {
            "format": ARTIFACT_FORMAT,
            "n_features": self.n_features,
            "provenance": self.provenance or {},
            "heads": {name: head.to_json() for name, head in sorted(self.heads.items())},
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"

    @property
    def version(self) -> str:
        """``model-`` + the first 12 hex digits of the artifact's sha256."""
        text = self._text if self._text is not None else self.to_text()
        return "model-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    @classmethod
    def from_text(cls, text: str) -> "Model":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the model artifact is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"not an {ARTIFACT_FORMAT} model artifact")
        n = int(data["n_features"])
        heads = {name: Head.from_json(h, n) for name, h in data["heads"].items()}
        return cls(heads, n, data.get("provenance"), text)

    def save(self, path: Path) -> str:
        text = self.to_text()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self._text = text
        return self.version


def load_model(path: Path) -> Model:
    if not path.is_file():
        raise ValueError(f"no model artifact at {path}")
    return Model.from_text(path.read_text(encoding="utf-8"))
