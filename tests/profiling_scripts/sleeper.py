"""Imports torch, then waits forever without a single optimizer step (a stuck program)."""
import time

import torch

print("sleeper waiting", torch.__name__, flush=True)
while True:
    time.sleep(0.05)
