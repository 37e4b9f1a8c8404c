"""zeroshift."""
