"""``greenlint profile``: a measured run of the user's training that confirms or refutes findings.

Modules, in the order data flows through them:

- ``bootstrap``: the recorder loaded into the user's program (stdlib and torch only)
- ``launch``: how it is loaded (a generated ``sitecustomize`` on ``PYTHONPATH``)
- ``runner``: runs the command, reads progress, enforces the bounds
- ``procfs``, ``nvml``, ``rapl``, ``sampler``: the parent's readings of the machine
- ``energy``: joules from counters, or from power x time, with the method stated
- ``assemble``, ``schema``: the profile as data and as ``profile.json``
- ``live``, ``summary``: what the terminal shows during and after the run
- ``confirm``: findings confirmed or refuted by a profile

Nothing here imports torch or NVML at import time: the core linter installs without them.
"""
