"""Speech providers: VAD, recognizers and synthesizers."""
