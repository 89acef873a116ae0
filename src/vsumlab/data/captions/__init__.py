"""Dense-caption data (ActivityNet Captions form) for Cap2Sum's weakly supervised training.

* Files: ``{video_id: {"duration": s, "timestamps": [[start, end], ...], "sentences": [...]}}``
  (ActivityNet Captions; any dense-caption set in this form loads unchanged; extra fields are
  ignored). A corrupt file or a malformed entry raises :class:`CaptionError` naming the file,
  the video id and the field.
* Events are clipped to ``[0, duration]``; an event entirely outside the video is dropped.
* Tokens: lower-cased runs of letters/digits (deterministic, no external tokenizer). The
  vocabulary is built from training captions: words with at least ``min_count`` occurrences,
  ordered by (-count, word); it saves/loads as JSON and travels inside Cap2Sum checkpoints.
* Steps: features are one vector per step. Step ``i`` covers ``[t_i, t_{i+1})`` seconds
  (``t_T = duration``): ``t_i = picks[i] / fps`` for a standard-schema h5 with picks and fps,
  else steps split the duration evenly. An event covers every step it overlaps (at least one);
  its box is ``(first / T, (last + 1) / T)`` of the step axis as (center, length).
* Features (:mod:`.features`): an h5 with a group per video (this
  project's standard schema, whose ``picks``/``fps`` give step times when present, or the public
  C3D file's ``c3d_features``), an h5 with a dataset per video (TSP), a folder of
  ``<video_id>.npy`` (TSP, CLIP) or PDVC's ``<id>_resnet.npy`` + ``<id>_bn.npy`` pairs; ids with
  or without the ``v_`` prefix. Entries ``<video_id>~<n>`` are further recordings of the same
  captioned video (each is one training item). Videos without features are reported once
  (count printed) and skipped, never zero-padded.
* Synthetic caption-aligned features (:mod:`vsumlab.data.synthetic.dense_captions`) for tests
  and the demo;
  :class:`CaptionDataModule` builds them in ``prepare_data`` when given ``synthetic`` options.

Modules: :mod:`.format` (caption files), :mod:`.vocabulary` (tokens, vocabulary),
:mod:`.steps` (events on the step axis), :mod:`.features` (feature stores),
:mod:`.datamodule` (:class:`~.datamodule.CaptionDataModule`).
"""
