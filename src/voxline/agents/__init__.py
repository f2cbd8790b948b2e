"""Agents decide what the bot says: an LLM with tools, a form-filler, RAG, or a remote plugin."""
