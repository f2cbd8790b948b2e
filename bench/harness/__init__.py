"""The load and soak benchmarks' parts: scripted backends, the server under test, callers."""
