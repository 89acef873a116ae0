"""Synthetic data with known structure, for tests, demos, benchmarks and the default recipes.

- :mod:`.benchmark`: the embedded TVSum-like and SumMe-like standard sets (planted importance)
- :mod:`.caption_aligned`: their caption-aligned variant, where language carries the signal
  (CLIP-It)
- :mod:`.dense_captions`: caption-aligned features for dense-caption sets (Cap2Sum pretraining)
- :mod:`.event_videos`: category videos with a planted event and their h5 (DeSumNet)
- :mod:`.scene_videos`: small coloured-scene videos with known cuts (decoding, KTS, summarize)
- :mod:`.planted_captions`: stand-in captions of the synthetic sets' planted segments (Cap2Sum)
- :mod:`.standin_features`: placeholder features for imported annotations without features
"""
