"""Waits forever without a single optimizer step (a stuck program)."""
import time

print("sleeper waiting", flush=True)
while True:
    time.sleep(0.05)
