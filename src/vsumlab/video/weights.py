"""Where encoder weights come from (no torch import, so CLI help stays fast).

Weights are read from local files and caches. Only when the user opts in (``--download-weights``
or ``VSUMLAB_DOWNLOAD_WEIGHTS=1``) may a named pretrained model missing from the cache be fetched
by its library's own mechanism (open_clip's ``download_pretrained`` into the Hugging Face cache,
``torch.hub`` for torchvision's GoogLeNet ImageNet weights). Tests never opt in.
"""

from __future__ import annotations

import os

RANDOM_WEIGHTS = "random"
#: torchvision GoogLeNet_Weights.IMAGENET1K_V1: the file name torch.hub caches it under
GOOGLENET_FILE = "googlenet-1378be20.pth"
GOOGLENET_URL = "https://download.pytorch.org/models/googlenet-1378be20.pth"
#: environment opt-in to fetching named pretrained weights missing from the cache
DOWNLOAD_ENV = "VSUMLAB_DOWNLOAD_WEIGHTS"
_TRUE = ("1", "true", "yes", "on")


def download_allowed(explicit: bool | None = None) -> bool:
    """Whether a missing named pretrained model may be fetched: the explicit flag when given,
    else ``VSUMLAB_DOWNLOAD_WEIGHTS``; off by default."""
    if explicit is not None:
        return bool(explicit)
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in _TRUE


def hf_offline() -> bool:
    """``HF_HUB_OFFLINE`` is set: the Hugging Face hub must not be contacted."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


FETCH_HINT = (
    f"to let the library fetch them once, run with --download-weights or {DOWNLOAD_ENV}=1 "
    "on a machine with internet"
)

WEIGHTS_HELP = (
    f"Weights download only on request ({DOWNLOAD_ENV}=1 or --download-weights). open_clip "
    "models: a checkpoint file (e.g. "
    "open_clip_pytorch_model.bin), or a pretrained tag such as 'openai' found in the local "
    "Hugging Face cache (HF_HOME, default ~/.cache/huggingface; fill it once on a machine with "
    "internet with: python -c \"import open_clip; open_clip.create_model('ViT-B-16', "
    "pretrained='openai')\"); OpenAI weights given as a file need the -quickgelu model name, "
    f"e.g. ViT-B-16-quickgelu. googlenet: torchvision's {GOOGLENET_FILE} ({GOOGLENET_URL}), "
    "looked up in $TORCH_HOME/hub/checkpoints when not given. 'random' builds an untrained "
    "network."
)
