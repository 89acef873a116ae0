"""The evaluation protocol, below everything that makes or scores summaries.

- :mod:`.options`: every evaluation choice with its default, and the presets (:class:`Protocol`)
- :mod:`.keyshots`: scores -> keyshot summary (shot scores, the knapsack under the budget)

Reference summaries are made with it (:mod:`vsumlab.data.importers`, the synthetic sets) and
machine summaries are made and scored with it (:mod:`vsumlab.evaluation`, :mod:`vsumlab.video`,
the models), so it sits below both data and evaluation.
"""
