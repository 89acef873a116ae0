"""Where encoder weights come from (no torch import, so CLI help stays fast)."""

from __future__ import annotations

RANDOM_WEIGHTS = "random"
GOOGLENET_FILE = "googlenet-1378be20.pth"
GOOGLENET_URL = "https://download.pytorch.org/models/googlenet-1378be20.pth"

WEIGHTS_HELP = (
    "Weights never download. open_clip models: a checkpoint file (e.g. "
    "open_clip_pytorch_model.bin), or a pretrained tag such as 'openai' found in the local "
    "Hugging Face cache (HF_HOME, default ~/.cache/huggingface; fill it once on a machine with "
    "internet with: python -c \"import open_clip; open_clip.create_model('ViT-B-16', "
    "pretrained='openai')\"); OpenAI weights given as a file need the -quickgelu model name, "
    f"e.g. ViT-B-16-quickgelu. googlenet: torchvision's {GOOGLENET_FILE} ({GOOGLENET_URL}), "
    "looked up in $TORCH_HOME/hub/checkpoints when not given. 'random' builds an untrained "
    "network."
)
