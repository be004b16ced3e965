"""A program that never imports torch and exits with status 3."""
import sys

print("plain stdout line")
print("plain stderr line", file=sys.stderr)
sys.exit(3)
