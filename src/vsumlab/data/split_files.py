"""Split files of the public code bases, read into the common form for the loaded datasets.

Three forms are accepted; the extension decides (``.json``; ``.yml``/``.yaml``; ``.txt``), else
the content (``[`` starts JSON, ``-`` starts YAML, ``<dataset>/split<i>/...`` is CSTA text):

* **common JSON** (this project's form, also the one of most PyTorch code bases)::

      [{"train_keys": ["video_1", ...], "test_keys": ["video_7", ...]}, ...]

* **DSNet YAML** (li-plus/DSNet ``splits/*.yml``): the same list, keys prefixed with the path of
  the h5 file they come from, ``../datasets/eccv16_dataset_tvsum_google_pool5.h5/video_35``.
  The augmented (``*_aug.yml``) and transfer (``*_trans.yml``) files mix the SumMe, TVSum, OVP
  and YouTube files in ``train_keys``. DSNet's folds are random draws: a video may be tested in
  several folds and in none.
* **CSTA text** (CSTA ``splits/{TVSum,SumMe}_splits.txt``): one line per split,
  ``TVSum/split0/video_1,video_3,.../video_2,video_11,...`` (dataset label, split name, training
  keys and test keys, comma-separated). The label names the target dataset.

A key's dataset prefix (everything before the last ``/``) is mapped to one of the configured
datasets (target first, then extra datasets) when it equals the dataset's name, its file name
or its file stem (the prefix's directories are ignored, case too). The result is keyed as the
datamodule keys videos: plain (``video_35``) when only the target is loaded, qualified
(``<dataset name>/video_35``) when several are. Every problem is one line naming the file and
the split (or line): a malformed line or entry, a prefix that matches no configured dataset, a
plain key where several datasets are loaded, a key the dataset lacks, a key in both train and
test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from vsumlab.data.splits import Split, parse_split_list, qualify, unqualify
from vsumlab.errors import ConfigError, DatasetError, printable
from vsumlab.io import parse_json
from vsumlab.yamlfile import load_yaml_text

FORMS = {"json": "common JSON", "dsnet": "DSNet YAML", "csta": "CSTA text"}
_EXTENSIONS = {".json": "json", ".yml": "dsnet", ".yaml": "dsnet", ".txt": "csta"}
_CSTA_SPLIT = re.compile(r"split\d+")
_H5_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class DatasetKeys:
    """What a split file is checked against: one loaded dataset's name, file and video keys."""

    name: str
    path: Path | None
    keys: Sequence[str]
    annotation_style: str | None = None

    @property
    def identifiers(self) -> set[str]:
        """Names a split file may use for this dataset (compared case-insensitively)."""
        names = {self.name}
        if self.path is not None:
            names |= {self.path.name, self.path.stem}
        return {n.casefold() for n in names}

    def describe(self) -> str:
        return f"'{self.name}' ({self.path})" if self.path is not None else f"'{self.name}'"


def h5_dataset_keys(path: str | os.PathLike) -> DatasetKeys:
    """Name and video keys of an h5 file without reading its records (for conversions)."""
    from vsumlab.data.schema import decode_text, open_h5, video_group_keys

    path = Path(path)
    if not path.is_file():  # a folder too is "no such file" here
        raise DatasetError(f"{path}: no such file")
    with open_h5(path) as handle:
        attrs = dict(handle.attrs)
        keys = video_group_keys(handle, path)

    def text(name: str) -> str | None:
        value = attrs.get(name)
        if value is None:
            return None
        return decode_text(value, f"{printable(path)}: file attribute '{name}'") if isinstance(
            value, bytes) else str(value)

    name = text("dataset_name") or path.stem  # as schema.Dataset.name
    return DatasetKeys(name, path, keys, text("annotation_style"))


def detect_form(path: Path, text: str) -> str:
    """``json``, ``dsnet`` or ``csta``: by extension, else by the first characters."""
    form = _EXTENSIONS.get(path.suffix.lower())
    if form is not None:
        return form
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "json"
    if stripped.startswith("-"):
        return "dsnet"
    if re.match(r"[^/\s]+/split\d+/", stripped):
        return "csta"
    raise DatasetError(
        f"{path}: not a splits file: expected a JSON list, a DSNet YAML list or CSTA text lines "
        "'<dataset>/split<i>/<train keys>/<test keys>'"
    )


def read_split_file(
    path: str | os.PathLike, datasets: Sequence[DatasetKeys]
) -> tuple[list[Split], str]:
    """Splits of a file in any accepted form, keyed for ``datasets`` (target first); the form.

    Keys are plain when ``datasets`` holds only the target, else ``<dataset name>/<key>``.
    """
    path = Path(path)
    if not datasets:
        raise ConfigError(f"{path}: no dataset configured to read the splits for")
    if not path.is_file():
        raise DatasetError(f"{path}: no such splits file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is not part of the first key
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable text file ({exc})") from exc
    if not text.strip():
        raise DatasetError(f"{path}: empty splits file")
    form = detect_form(path, text)
    resolver = _Resolver(path, datasets)
    if form == "csta":
        return _read_csta(path, text, resolver), form
    data = _load_json(path, text) if form == "json" else _load_yaml(path, text)
    if form == "json" and isinstance(data, dict) and "val_keys" in data:
        return [_read_mrhisum(path, data, resolver)], "mrhisum"
    raw = parse_split_list(data, path)
    splits = [resolver.split(s, f"{path}: split {i}", resolver.by_prefix) for i, s in enumerate(raw)]
    return splits, form


def _read_mrhisum(path: Path, data: dict[str, Any], resolver: _Resolver) -> Split:
    """Mr. HiSum's split object (``dataset/mr_hisum_split.json`` of MRHiSum/MR.HiSum, read by
    its ``model/mrhisum_dataset.py`` as ``<mode>_keys``): one split with its validation videos."""
    lists: dict[str, list[str]] = {}
    for name in ("train_keys", "val_keys", "test_keys"):
        value = data.get(name)
        if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
            raise DatasetError(f"{path}: field '{name}' must be a non-empty list of video keys "
                               '(a Mr. HiSum split: {"train_keys": [...], "val_keys": [...], '
                               '"test_keys": [...]})')
        lists[name] = value
    where = f"{path}: Mr. HiSum split"
    split = resolver.split(Split(lists["train_keys"], lists["test_keys"]), where,
                           resolver.by_prefix)
    val = resolver.split(Split(lists["val_keys"], lists["test_keys"]), where, resolver.by_prefix)
    both = [k for k in val.train_keys if k in set(split.train_keys)]
    if both:
        raise DatasetError(f"{where}: keys in both train_keys and val_keys: "
                           f"{', '.join(both[:5])}")
    return Split(split.train_keys, split.test_keys, val_keys=val.train_keys)


def _load_json(path: Path, text: str) -> Any:
    try:
        return parse_json(text, path)
    except ConfigError as exc:  # not JSON, or a key twice (json would keep the last silently)
        raise DatasetError(f"{path}: not a JSON splits file: "
                           f"{str(exc).removeprefix(f'{path}: ')}") from exc


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return load_yaml_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DatasetError(f"{path}: {place}not a YAML splits file ({problem})") from exc


def _read_csta(path: Path, text: str, resolver: _Resolver) -> list[Split]:
    expected = "expected '<dataset>/split<i>/<train keys, comma-separated>/<test keys>'"
    splits: list[Split] = []
    seen: dict[str, int] = {}
    label_of_file: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        fields = line.strip().split("/")
        if len(fields) != 4:
            raise DatasetError(f"{where}: {expected}, got {len(fields)} '/'-separated fields")
        label, name, train, test = (f.strip() for f in fields)
        if not label or not _CSTA_SPLIT.fullmatch(name):
            raise DatasetError(f"{where}: {expected}, got '{label}/{name}/...'")
        if name in seen:
            raise DatasetError(f"{where}: split name '{name}' repeats line {seen[name]}")
        seen[name] = number
        if label_of_file is None:
            resolver.check_csta_label(label, where)
            label_of_file = label
        elif label != label_of_file:
            raise DatasetError(f"{where}: dataset label '{label}', earlier lines '{label_of_file}'")
        where = f"{where} ({name})"
        lists = [_csta_keys(field, where, which) for field, which in
                 ((train, "train"), (test, "test"))]
        if not lists[1]:
            raise DatasetError(f"{where}: no test keys")
        raw = Split(train_keys=lists[0], test_keys=lists[1])
        splits.append(resolver.split(raw, where, lambda prefix, key, where: resolver.target))
    if not splits:
        raise DatasetError(f"{path}: no split lines")
    return splits


def _csta_keys(field: str, where: str, which: str) -> list[str]:
    if not field:
        return []
    keys = [k.strip() for k in field.split(",")]
    if not all(keys):
        raise DatasetError(f"{where}: empty key in the comma-separated {which} keys")
    return keys


class _Resolver:
    """Maps a file's keys onto the loaded datasets' keys (plain or qualified)."""

    def __init__(self, path: Path, datasets: Sequence[DatasetKeys]):
        self.path = path
        self.datasets = list(datasets)
        self.target = self.datasets[0]
        self.qualified = len(self.datasets) > 1
        self._known = {d.name: set(d.keys) for d in self.datasets}
        self._prefixes: dict[str, DatasetKeys] = {}

    def known(self) -> str:
        return ", ".join(d.describe() for d in self.datasets)

    def by_prefix(self, prefix: str | None, key: str, where: str) -> DatasetKeys:
        if prefix is None:
            if self.qualified:
                raise DatasetError(
                    f"{where}: key '{key}' has no dataset prefix; with several datasets loaded "
                    f"each key needs one ('<dataset>/{key}'; known: {self.known()})"
                )
            return self.target
        if prefix not in self._prefixes:
            file_name = PurePosixPath(prefix.replace("\\", "/")).name
            names = {file_name.casefold()}
            if file_name.lower().endswith(_H5_SUFFIXES):
                names.add(file_name.rsplit(".", 1)[0].casefold())
            matches = [d for d in self.datasets if d.identifiers & names]
            if not matches:
                raise DatasetError(
                    f"{where}: dataset prefix '{prefix}' matches no configured dataset (known: "
                    f"{self.known()}); add its file to data.extra_datasets or rename it"
                )
            if len(matches) > 1:
                raise DatasetError(
                    f"{where}: dataset prefix '{prefix}' matches several configured datasets: "
                    + ", ".join(d.describe() for d in matches)
                )
            self._prefixes[prefix] = matches[0]
        return self._prefixes[prefix]

    def check_csta_label(self, label: str, where: str) -> None:
        """A SumMe file for a TVSum target (or the reverse) would pass the key check silently
        (TVSum has video_1..50, SumMe video_1..25): refuse it when the target says its kind."""
        target = self.target
        tokens = " ".join(
            t.casefold() for t in (target.annotation_style, target.name,
                                   target.path.stem if target.path else None) if t
        )
        wanted = label.casefold()
        others = [k for k in ("tvsum", "summe") if k != wanted and k in tokens]
        if wanted in ("tvsum", "summe") and wanted not in tokens and others:
            raise DatasetError(
                f"{where}: a {label} split file, but the target dataset {target.describe()} is "
                f"{others[0]}-style"
            )

    def split(
        self,
        raw: Split,
        where: str,
        dataset_of: Callable[[str | None, str, str], DatasetKeys],
    ) -> Split:
        lists: dict[str, list[str]] = {}
        for name in ("train_keys", "test_keys"):
            resolved: list[str] = []
            seen: set[str] = set()
            for key in getattr(raw, name):
                prefix, plain = unqualify(key)
                dataset = dataset_of(prefix, key, f"{where} field '{name}'")
                if plain not in self._known[dataset.name]:
                    raise DatasetError(
                        f"{where} field '{name}': unknown video key '{key}' (dataset "
                        f"{dataset.describe()} has {len(self._known[dataset.name])} videos)"
                    )
                final = qualify(dataset.name, plain) if self.qualified else plain
                if final in seen:
                    raise DatasetError(f"{where} field '{name}': video '{final}' listed twice")
                seen.add(final)
                resolved.append(final)
            lists[name] = resolved
        overlap = [k for k in lists["test_keys"] if k in set(lists["train_keys"])]
        if overlap:
            raise DatasetError(
                f"{where}: keys in both train_keys and test_keys: {', '.join(overlap[:5])}"
            )
        return Split(train_keys=lists["train_keys"], test_keys=lists["test_keys"])
