"""The fitted same-story models (pure).

Two logistic models decide when no headline rule has: one for articles with
full text, over the pair features of :func:`processors.stories.body.compare_body`
plus title evidence, and one for headline-only articles, over title evidence
against the story's profile. Their weights and thresholds are data, fitted on
labelled story sets by ``bench/fit_clusterer.py`` and shipped as
``model.json`` beside this file, so a refit changes no code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["full_text", "headline"]
FEATURES: dict[Kind, tuple[str, ...]] = {
    "full_text": (
        "centroid_cos",  # article vs the story's centroid
        "link_cos",  # article vs its closest story article among the candidates
        "entity_cos",  # names the article and the story carry
        "defining_missing",  # share of the story's defining names the article lacks
        "top_missing",  # share of the article's own top names the story lacks
        "year_conflict",  # the story's years and the article's do not meet
        "title_shared",  # shared title terms with the closest article, /6, capped at 1
        "title_score",  # the pairwise same-story score of processors.stories.score, /100
    ),
    "headline": (
        "profile_share",  # IDF share of the title's terms, weighted by how many members carry them
        "title_score",  # the pairwise same-story score, /100
        "title_shared",  # shared title terms with the closest article, /6, capped at 1
        "story_size",  # log(1 + members) / 5, capped at 1
    ),
}
MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class StoryModel:
    """Weights (one per feature), a bias and the probability that joins a story."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: tuple[float, ...]) -> float:
        """P(same story) for one (article, story) feature vector."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def as_data(self, kind: Kind) -> dict[str, object]:
        """The shipped form, with feature names so that a reader can check them."""
        return {
            "features": list(FEATURES[kind]),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class StoryModels:
    """One model per kind of article."""

    full_text: StoryModel
    headline: StoryModel

    def to_json(self) -> str:
        """The content of ``model.json``."""
        data = {
            "full_text": self.full_text.as_data("full_text"),
            "headline": self.headline.as_data("headline"),
        }
        return json.dumps(data, indent=2) + "\n"


def parse_model(kind: Kind, data: dict[str, object], where: Path) -> StoryModel:
    """One model from its shipped form; its feature list must match this code's."""
    if tuple(data["features"]) != FEATURES[kind]:  # type: ignore[arg-type]
        raise ValueError(f"{where}: {kind} features do not match {list(FEATURES[kind])}")
    return StoryModel(
        weights=tuple(float(w) for w in data["weights"]),  # type: ignore[attr-defined]
        bias=float(data["bias"]),  # type: ignore[arg-type]
        threshold=float(data["threshold"]),  # type: ignore[arg-type]
    )


def load_models(path: Path = MODEL_PATH) -> StoryModels:
    """Read the fitted models."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return StoryModels(
        full_text=parse_model("full_text", data["full_text"], path),
        headline=parse_model("headline", data["headline"], path),
    )
