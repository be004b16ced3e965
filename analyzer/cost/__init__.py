"""The cost model: parameters, FLOPs, energy and CO2 of the models a project defines.

``static`` estimates every model from the source alone (``model_facts`` trees evaluated
by ``interpreter`` over shapes, ``layers`` and ``functions`` mirroring fvcore's per-op
counts), ``architectures`` and ``transformer`` cover library models, ``inputs`` and
``training`` find what one sample looks like and how much training the code asks for,
and ``energy`` turns MACs into kWh and CO2e under sourced, overridable assumptions
(tables in ``data/``). Nothing here imports torch or runs user code; the measured path
lives in ``greenlint.measure``.
"""
