"""Transports carry a call's audio: Twilio Media Streams, the browser, a simulated caller."""
