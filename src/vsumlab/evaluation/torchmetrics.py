"""F1 / Kendall / Spearman as a torchmetrics ``Metric`` for validation and test loops.

Each ``update`` scores whole videos with :func:`vsumlab.evaluation.metrics.evaluate_video` (on
CPU, numpy) and appends per-video values to list states reduced with ``cat``, so under DDP every
process ends with all videos. Strings do not sync, so each key is stored as its index in the
``records`` mapping. Videos scored twice (DistributedSampler pads the last batch with repeats)
count once: the first value per index is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from vsumlab.data.annotation_styles import annotation_style, check_style, record_style
from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.errors import ConfigError, PredictionError
from vsumlab.evaluation.metric_registry import METRICS, metric
from vsumlab.evaluation.metrics import evaluate_video, resolve_rank_annotations
from vsumlab.evaluation.scores import VideoScores
from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol

VALUES = METRICS


class SummarizationMetrics(Metric):
    """Mean F1 (percent), Kendall tau-b and Spearman rho over the videos seen.

    ``records`` is a key -> :class:`VideoRecord` mapping, or a :class:`Dataset` (then its
    annotation style resolves ``f1_reduction="auto"``). With a plain mapping, pass ``style``
    unless every record tells it (qualified key ``"summe/..."``, or ``user_anno`` -> tvsum).
    ``protocol`` may be a :class:`Protocol` or its dict form; ``source`` (the file) prefixes
    the error when the records cannot be rank-correlated as the protocol asks.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(
        self,
        records: Mapping[str, VideoRecord] | Dataset,
        protocol: Protocol | Mapping[str, Any] | None = None,
        style: str | None = None,
        source: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(protocol, Protocol):
            protocol = Protocol.from_dict(dict(protocol)) if protocol else DEFAULT_PROTOCOL
        if style is not None:
            style = check_style(style)
        elif isinstance(records, Dataset) and protocol.f1_reduction == "auto":
            style = annotation_style(records)
        if isinstance(records, Dataset):
            records = records.records
        self.protocol = protocol
        self.style = style
        self._records: dict[str, VideoRecord] = dict(records)
        # refuse up front (before training), not at the first validation: e.g. TVSum without
        # user_anno under rank_annotations=auto
        for key, record in self._records.items():
            resolve_rank_annotations(
                record, protocol, style or record_style(key, record), source
            )
        self._keys = list(self._records)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self.add_state("video_index", default=[], dist_reduce_fx="cat")
        for name in VALUES:
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, keys: Sequence[str], scores: Sequence[torch.Tensor]) -> None:  # type: ignore
        if len(keys) != len(scores):
            raise ConfigError(
                f"SummarizationMetrics.update: {len(keys)} keys for {len(scores)} scores"
            )
        for key, video_scores in zip(keys, scores):
            if key not in self._index:
                raise PredictionError(
                    f"predictions: video '{key}' is not among the metric's records"
                )
            values = np.asarray(torch.as_tensor(video_scores).detach().float().cpu().numpy())
            # a qualified key ("summe/video_3") tells the style where the record's own key cannot
            style = self.style if self.style is not None else record_style(key, self._records[key])
            result = evaluate_video(self._records[key], values, self.protocol, style)
            self.video_index.append(torch.tensor([self._index[key]], device=self.device))
            for name in VALUES:
                value = torch.tensor(
                    [getattr(result, name)], dtype=torch.float64, device=self.device
                )
                getattr(self, name).append(value)

    def _unique(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        index = dim_zero_cat(self.video_index).long()
        values = {name: dim_zero_cat(getattr(self, name)) for name in VALUES}
        _, first = np.unique(index.cpu().numpy(), return_index=True)
        keep = torch.as_tensor(np.sort(first), device=index.device)
        return index[keep], {name: v[keep] for name, v in values.items()}

    def compute(self) -> dict[str, torch.Tensor]:
        if len(self.video_index) == 0:  # a list before sync, a tensor after
            nan = torch.tensor(float("nan"), dtype=torch.float64, device=self.device)
            return {name: nan.clone() for name in VALUES}
        _, values = self._unique()
        # each metric reduces over videos as the registry says (undefined correlations left out)
        return {
            name: torch.tensor(metric(name).reduce(v.cpu().tolist()), dtype=torch.float64,
                               device=self.device)
            for name, v in values.items()
        }

    def per_video(self) -> dict[str, VideoScores]:
        """key -> scores of every video seen (after sync under DDP)."""
        if len(self.video_index) == 0:  # a list before sync, a tensor after
            return {}
        index, values = self._unique()
        rows = {}
        for position, i in enumerate(index.tolist()):
            rows[self._keys[i]] = VideoScores(*(float(values[n][position]) for n in VALUES))
        return rows
