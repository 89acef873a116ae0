"""PDVC-style dense video captioner (Wang et al., ICCV 2021) in pure PyTorch.

Parts, one file each: :mod:`segments` (temporal box ops), :mod:`deformable_attention`,
:mod:`pyramid` (multi-scale Conv1d features), :mod:`transformer` (deformable encoder/decoder),
:mod:`heads` (localization, classification, event counter, LSTM caption head),
:mod:`matcher` (Hungarian), :mod:`decoding` (greedy and beam search), :mod:`captioner`
(the whole model) and :mod:`metrics` (localization precision/recall, BLEU).
"""
