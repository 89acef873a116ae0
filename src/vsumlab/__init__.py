"""vsumlab: video summarization research monorepo (Cap2Sum, ViSP, DeSumNet, CLIP-It)."""

__version__ = "0.1.0"
