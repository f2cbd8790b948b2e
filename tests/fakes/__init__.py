"""Real servers that speak third-party protocols, for tests (never imported by voxline)."""
