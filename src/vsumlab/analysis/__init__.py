"""Helpers behind the notebooks: results folders, W&B offline runs, score curves, datasets."""
