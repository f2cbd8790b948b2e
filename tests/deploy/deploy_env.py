"""Fake `.env` values for the deployment tests (the secrets are fakes that must never leak)."""

# Fake secrets: they must never reach the synthesized template.
FAKE_TWILIO_TOKEN = "fake-twilio-token-3f9a1c"
FAKE_NGC_KEY = "nvapi-fake-ngc-key-7d2e4b"

ENV: dict[str, str] = {
    "TWILIO_HOST_NAME": "voice",
    "NIM_HOST_NAME": "nim",
    "DOMAIN_NAME": "example.com",
    "HOSTED_ZONE_ID": "Z0123456789ABCDEFGHIJ",
    "TWILIO_AUTH_TOKEN": FAKE_TWILIO_TOKEN,
    "NGC_API_KEY": FAKE_NGC_KEY,
    "CAPACITY_RESERVATION_ID": "cr-0123456789abcdef0",
    "AWS_REGION": "us-east-2",
    "VENDOR_NAME": "meta",
    "CONTAINER_NAME": "llama-3.1-8b-instruct",
    "CONTAINER_TAG": "1.1.2",
}
