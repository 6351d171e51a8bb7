"""The fitted same-story model for full-text articles (pure).

A logistic model over the pair features of :func:`processors.stories.body.compare_body`
plus title evidence. Its weights and decision threshold are data, fitted on
labelled story sets by ``bench/fit_clusterer.py`` and shipped as
``model.json`` beside this file, so a refit changes no code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from operator import mul
from pathlib import Path

FEATURES = (
    "centroid_cos",  # article vs the story's centroid
    "link_cos",  # article vs its closest story article among the candidates
    "entity_cos",  # names the article and the story carry
    "defining_missing",  # share of the story's defining names the article lacks
    "year_conflict",  # the story's years and the article's do not meet
    "title_shared",  # shared title terms with the closest article, /6, capped at 1
    "title_score",  # the pairwise same-story score of processors.stories.score, /100
    "title_conflict",  # a headline veto (numbers, places, names) holds against the story
    "link_x_names",  # link_cos times entity_cos: the same words about the same people
    "markers_shared",  # share of the article's figures and weekdays the story's articles carry
)
MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class StoryModel:
    """Weights (one per feature), a bias and the probability that joins a story."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: tuple[float, ...]) -> float:
        """P(same story) for one (article, story) feature vector."""
        if len(features) != len(self.weights):
            raise ValueError(f"{len(features)} features for {len(self.weights)} weights")
        z = self.bias + sum(map(mul, self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> str:
        """The shipped form, with feature names so that a reader can check them."""
        data = {
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
        }
        return json.dumps(data, indent=2) + "\n"


def load_model(path: Path = MODEL_PATH) -> StoryModel:
    """Read a fitted model; its feature list must match this code's."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: features {data['features']} do not match {list(FEATURES)}")
    return StoryModel(
        weights=tuple(float(w) for w in data["weights"]),
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
    )
