"""The talk and calls pages in real headless Chromium (Debian's, driven by Playwright).

Chromium's fake microphone plays a WAV the embedded voice spoke: a question, an order that
barges in on the bot's long answer, and a goodbye. The page must show the transcripts, a
latency bar, the barge-in and the end of the call; the calls page must then show the call
with its order, transcript, latency chart and recording. Screenshots go to
var/test-artifacts/browser/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT
from voxline.audio import wav_bytes

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
RATE = 16000
# Caller lines and the silence before each, timed against the bot: the greeting (about 4 s)
# ends before the question; the order comes 4 s after it, into the 10 s topping list, so it
# barges in unless the answer takes over 3.5 s to start; the yes follows the read-back with its
# price (about 6 s), the goodbye the bot's "placed your order ... Anything else?".
SCRIPT = [
    (6.5, "What toppings do you have?"),
    # Whisper heard "on thick crust" as "on the crust" behind Chromium's audio processing about
    # one call in five; "deep dish" (the thick crust's synonym) it hears every time.
    (4.0, "large ham pizza, deep dish please"),
    (9.0, "Yes, please."),
    (9.0, "No thanks, goodbye."),
]
WAIT_MS = 60_000


def caller_wav(speak, path: Path) -> Path:
    pcm = b""
    for silence, text in SCRIPT:
        pcm += bytes(2 * int(silence * RATE)) + speak(text, RATE)
    path.write_bytes(wav_bytes(pcm + bytes(2 * 3 * RATE), RATE))
    return path


@pytest.fixture
def chromium(tmp_path, speak):
    """A headless Chromium whose microphone plays the caller's script once."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system-deps.sh as root (Debian: chromium)")
    wav = caller_wav(speak, tmp_path / "caller.wav")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def conversation(page) -> str:
    """The talk page's turns on one line, for a failure message."""
    return " | ".join(page.locator(".turn").all_inner_texts()).replace("\n", " ")


def wait_for(page, selector: str) -> None:
    """Wait for ``selector``; a timeout says what the call did instead."""
    try:
        page.wait_for_selector(selector, timeout=WAIT_MS)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"no {selector!r}; the call: {conversation(page)}") from exc


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_an_order_on_the_talk_page_with_a_barge_in_then_the_call_on_the_calls_page(
    talk_server, chromium
):
    base = talk_server.url.replace("127.0.0.1", "localhost")  # a secure context without TLS
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    shot(page, "talk-start.png")
    try:
        page.click("#start")
        page.wait_for_function("window.voxline.callId !== null", timeout=WAIT_MS)
        call_id = page.evaluate("window.voxline.callId")
        # The question, transcribed, and the bot's answer with its latency bar.
        wait_for(page, ".turn.caller:not(.live)")
        wait_for(page, ".turn.bot .latency")
        # The order barges in on the topping list: playback cleared, the answer marked cut.
        wait_for(page, ".turn.bot.interrupted")
        wait_for(page, ".seg:text('placed your order')")
        # The goodbye should make the bot hang up; if whisper mishears it, the caller does.
        try:
            page.wait_for_selector(".ended", timeout=WAIT_MS)
        except PlaywrightTimeout:
            page.click("#start")
            wait_for(page, ".ended")
    finally:
        shot(page, "talk-call.png")
    stats = page.evaluate("window.voxline")
    assert stats["clears"] >= 1 and stats["marks"] >= 3
    said = " ".join(page.locator(".turn.caller .text").all_inner_texts()).lower()
    assert "toppings" in said
    cut = page.locator(".turn.bot.interrupted").first
    assert cut.locator(".seg").first.inner_text().startswith("For toppings,")
    assert page.locator(".latency").count() >= 2
    assert "order placed" in page.locator(".ended").inner_text()
    assert not errors

    page.goto(f"{base}/calls#{call_id}")
    try:
        row = page.locator(f'tr.call[data-id="{call_id}"]')
        row.wait_for(timeout=WAIT_MS)
        page.wait_for_selector("#detail .latency-chart rect", timeout=WAIT_MS)
        duration = page.wait_for_function(
            "(() => { const a = document.querySelector('#detail audio');"
            " return a && a.duration > 0 && a.duration; })()",
            timeout=WAIT_MS,
        ).json_value()
    finally:
        shot(page, "calls.png")
    cells = row.locator("td").all_inner_texts()
    assert cells[2:4] == ["browser", "order placed"]
    detail = page.locator("#detail").inner_text()
    assert "process_pizza_order" in detail and "size: large" in detail and "crust: thick" in detail
    assert page.locator("#detail .transcript .assistant.interrupted").count() >= 1
    assert duration > 20  # the recording holds the whole conversation, both sides
    assert not errors
