"""All (split, seed) replicas of a summarizer trained in one Lightning run (``vsumlab cv
--replicas vectorized``): parameters stacked per step, one vmapped forward and loss."""
