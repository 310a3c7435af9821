"""Every folder and file name footreid writes, and the keys of its checkpoints.

One owner per name, so that the writer and every reader agree:

* a training run (:class:`RunLayout`, ``footreid train``): ``RUN/config.yaml`` (the
  resolved config), ``metrics.jsonl`` (one line per epoch), ``checkpoints/`` with
  ``last.pt`` (every epoch, with the state to resume), ``best.pt`` (the epoch with the
  best validation metric) and ``stage<i>-<name>.pt`` (the end of every stage), ``tb/``
  (TensorBoard events) and ``features/``;
* an experiment run (:class:`ExperimentLayout`, ``footreid experiment``): ``config.yaml``,
  ``train/<model>/seed<k>/`` (a training run per recipe model and seed),
  ``features/<model>[.seed<k>]__<split>.npz``, ``per_query/<method>.csv``,
  ``results.json``, ``results.md`` and ``report/`` (``footreid report``);
* the quickstart (:class:`QuickstartLayout`): ``OUT/synthetic-<preset>/``,
  ``OUT/train/<model>/`` (training runs) and ``OUT/experiment/`` (an experiment run).

A checkpoint is a ``torch.save``'d dict of tensors and plain values (it loads with
``weights_only=True``): :data:`CHECKPOINT_KEYS` are what rebuilding the model needs
(``footreid.models.load_trained``), :data:`RESUME_KEYS` what ``--resume`` needs on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footreid.core.errors import DataError

CHECKPOINT_FORMAT = "footreid-train"
CHECKPOINT_VERSION = 1
CHECKPOINT_KEYS: tuple[str, ...] = (
    "model_name",
    "model_kwargs",
    "num_classes",
    "input_size",
    "model",
    "config",
)
"""Registry name, family options, classifier size, [H, W] last trained at, the state
dict and the resolved config: what ``load_trained`` reads from every checkpoint."""
RESUME_KEYS: tuple[str, ...] = ("optimizer", "scaler", "sampler", "rng")
"""Entries only ``last.pt`` holds, which readers of the weights drop: ``optimizer`` and
``scaler`` (what ``--resume`` restores); ``sampler`` and ``rng`` are in files of earlier
versions only (both follow from the config and the counters, see
``footreid.train.checkpoint``)."""


def stage_file(index: int, name: str) -> str:
    """File name of the checkpoint written at the end of stage ``index`` (``name``)."""
    return f"stage{index}-{name}.pt"


def _under(*parts: str) -> property:
    """A read-only attribute: the path ``root / parts`` of a layout."""
    return property(lambda layout: layout.root.joinpath(*parts))


@dataclass(frozen=True)
class RunLayout:
    """The folder of one training run (``config.run_dir``).

    Attributes:
        config: the resolved config; metrics: one JSON line per trained epoch;
            tensorboard: event files; features: features embedded from the checkpoints.
        checkpoints: their folder; last: the latest epoch, with the state to resume;
            best: the epoch with the best validation metric.
    """

    root: Path
    config = _under("config.yaml")
    metrics = _under("metrics.jsonl")
    tensorboard = _under("tb")
    features = _under("features")

    checkpoints = _under("checkpoints")
    last = _under("checkpoints", "last.pt")
    best = _under("checkpoints", "best.pt")

    def stage_checkpoint(self, index: int, name: str) -> Path:
        """The checkpoint written at the end of stage ``index``."""
        return self.checkpoints / stage_file(index, name)

    def make(self) -> RunLayout:
        """Create the directories and return self."""
        for folder in (self.root, self.checkpoints, self.tensorboard, self.features):
            folder.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class ExperimentLayout:
    """The folder of one experiment run (``ExperimentConfig.run_dir``).

    Attributes:
        config: the resolved experiment config; features: the cached features files;
            per_query: per-query CSV files; report: the HTML report (``footreid report``);
            results_json: what the report and the demo read; results_md: the tables.
    """

    root: Path

    def train_dir(self, model: str) -> Path:
        """Parent of the training runs of recipe model ``model`` (one per seed)."""
        return self.root / "train" / model

    @staticmethod
    def seed_run(seed: int) -> str:
        """Name of the training run of one seed, inside :meth:`train_dir`."""
        return f"seed{seed}"

    @staticmethod
    def seed_features(model: str, seed: int) -> str:
        """The features name of one training seed of a recipe model."""
        return f"{model}.seed{seed}"

    config = _under("config.yaml")
    features = _under("features")
    per_query = _under("per_query")
    report = _under("report")

    def features_file(self, name: str, split: str) -> Path:
        """``features/<name>__<split>.npz``."""
        return self.features / f"{name}__{split}.npz"

    def per_query_csv(self, slug: str) -> Path:
        """The per-query CSV of the method ``slug``."""
        return self.per_query / f"{slug}.csv"

    results_json = _under("results.json")
    results_md = _under("results.md")

    def read_results(self) -> dict[str, Any]:
        """The parsed ``results.json`` (its fields are checked by whoever reads them).

        Raises:
            DataError: the file is missing or is not a JSON object.
        """
        source = self.results_json
        if not source.is_file():
            raise DataError(
                source, "not found: pass a run directory written by footreid experiment"
            )
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(source, f"cannot read results ({exc})") from None
        if not isinstance(data, dict):
            raise DataError(source, "not a results file of footreid experiment (not an object)")
        return data

    def resolve(self, value: str | None) -> Path | None:
        """A path recorded in results.json: absolute as is, else relative to the run.

        A relative path that exists only from the working directory (a checkpoint given
        relative to where ``footreid experiment`` ran) is kept as is.
        """
        if not value:
            return None
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        inside = self.root / path
        return inside if inside.exists() or not path.exists() else path


@dataclass(frozen=True)
class QuickstartLayout:
    """Everything ``footreid quickstart`` writes, under one folder.

    Attributes:
        train: parent of the training runs (``output_dir`` of their configs).
        experiment: the experiment run, named :attr:`EXPERIMENT`.
    """

    EXPERIMENT = "experiment"

    root: Path
    train = _under("train")
    experiment = _under(EXPERIMENT)

    def dataset(self, preset: str) -> Path:
        """The synthetic dataset of ``preset``."""
        return self.root / f"synthetic-{preset}"
