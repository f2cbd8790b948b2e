"""Voxline: real-time speech-to-speech voice agents."""

__version__ = "0.1.0"
