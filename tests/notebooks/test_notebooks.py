"""The notebooks run top to bottom on the embedded data (nbclient, the venv's python3 kernel),
and the committed notebooks carry no outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TINY = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'
TINY_CAPTIONER = dict(
    d_model=16, n_heads=2, n_points=2, n_levels=2, n_queries=4, ffn_dim=32, max_events=4,
    caption_hidden=16, caption_word_dim=8, norm_groups=4, dropout=0.0,
)


def test_the_three_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"results.ipynb", "dataset_explorer.ipynb", "caption_viewer.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {index} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {index} was run"


def _execute(path: Path) -> object:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # the kernel inherits this process's environment (the VSUMLAB_* variables set below)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return notebook


def _text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def _images(notebook) -> int:
    return sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def tiny_results(small_tvsum_h5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vsumlab.training.cv import CVOptions, run_cv

    out = tmp_path_factory.mktemp("nb") / "results"
    recipe = ROOT / "experiments" / "supervised" / "transformer_tvsum.yaml"
    run_cv(CVOptions(
        recipe=recipe, out_dir=out, name="tiny", reference_draws=2, quiet=True,
        wandb_mode="offline",
        overrides=[f"--data.init_args.dataset={small_tvsum_h5}", "--data.init_args.n_folds=2",
                   "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY}",
                   "--trainer.max_epochs=2", "--trainer.accelerator=cpu"],
    ))  # cv waits until W&B has written the per-fold offline runs
    return out


@pytest.mark.slow
def test_results_notebook(tiny_results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSUMLAB_RESULTS", str(tiny_results))
    notebook = _execute(ROOT / "notebooks" / "results.ipynb")
    text = _text(notebook)
    # results table (rows named by method, dataset, setting, split source), per-fold validation
    assert "| Transformer · synthetic_tvsum · canonical · 2 folds, split seed 0 |" in text
    assert "val_f1" in text
    assert text.count("tiny-fold") == 2  # the W&B section lists both per-fold offline runs
    assert text.count("selected shots") >= 2  # best and worst video
    assert "random_f1" in text and "ci95" in text  # the PoR picture and the spread
    assert _images(notebook) >= 6  # PoR, spread, curves, distributions, two videos


@pytest.mark.slow
def test_dataset_explorer_notebook(small_summe_h5: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSUMLAB_DATASET", str(small_summe_h5))
    notebook = _execute(ROOT / "notebooks" / "dataset_explorer.ipynb")
    text = _text(notebook)
    assert "human_kendall" in text and "summe" in text
    assert _images(notebook) >= 4


@pytest.mark.slow
def test_caption_viewer_with_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lightning as L
    import torch

    from vsumlab.models.cap2sum import Cap2SumModule

    torch.manual_seed(0)
    module = Cap2SumModule(
        input_dim=32, mode="pretrain", captioner=TINY_CAPTIONER, max_caption_len=5,
        summarizer_args={"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32,
                         "dropout": 0.0},
        vocabulary=["a", "woman", "boy", "cuts", "jumps", "the", "street"],
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu")
    trainer.strategy.connect(module)  # an untrained checkpoint is enough to draw predictions
    checkpoint = tmp_path / "cap2sum.ckpt"
    trainer.save_checkpoint(checkpoint)
    monkeypatch.setenv("CAP2SUM_CKPT", str(checkpoint))
    monkeypatch.setenv("VSUMLAB_N_VIDEOS", "2")
    monkeypatch.delenv("VSUMLAB_CAPTIONS", raising=False)
    notebook = _execute(ROOT / "notebooks" / "caption_viewer.ipynb")
    text = _text(notebook)
    assert "Cap2SumModule" in text and "| predicted |" in text and "| truth |" in text
    assert _images(notebook) == 2
