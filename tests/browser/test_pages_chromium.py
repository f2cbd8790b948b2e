"""The talk and calls pages in real headless Chromium (Debian's, driven by Playwright).

The page's microphone is a WebAudio stream the test speaks into with the embedded voice, and
the caller answers what the bot asks, like `voxline test`'s callers: a question, an order that
barges in on the bot's long answer, whatever the bot asks about that order, and a goodbye. (A
fixed WAV on Chromium's fake microphone fell a line behind whenever the bot asked "Did you say
ham?".) The page must show the transcripts, a latency bar, the barge-in and the end of the
call; the calls page must then show the call with its order, transcript, latency chart and
recording. Screenshots go to var/test-artifacts/browser/.
"""

import base64
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT
from voxline.testbench.caller_script import rule_for
from voxline.testbench.scenario import Rule
from voxline.testbench.words import normalize

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
RATE = 16000
QUESTION = "What toppings do you have?"
# Whisper heard "on thick crust" as "on the crust" behind Chromium's audio processing about
# one call in five; "deep dish" (the thick crust's synonym) it hears every time.
ORDER = "large ham pizza, deep dish please"
BARGE_IN_S = 2.0  # into the topping list (about 10 s)
GOODBYE = "No thanks, goodbye."
RULES = (
    Rule(("place the order", "is that right"), "Yes, please."),
    Rule(("did you say",), "Yes."),
    Rule(("what size", "which crust", "what crust", "catch that", "what kind"), ORDER),
    Rule(("anything else", "placed your order"), GOODBYE),
)
MAX_ANSWERS = 6
QUIET_S = 1.0  # the bot's turn is over after this long without playing
WAIT_MS = 60_000
# getUserMedia gives the page a stream the test plays lines into (silence in between).
FAKE_MIC = """
(() => {
  let ctx = null;
  let dest = null;
  navigator.mediaDevices.getUserMedia = async () => {
    ctx = new AudioContext({ sampleRate: RATE });
    dest = ctx.createMediaStreamDestination();
    await ctx.resume();
    return dest.stream;
  };
  window.caller = {
    say(b64) {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const pcm = new Int16Array(bytes.buffer);
      const buf = ctx.createBuffer(1, pcm.length, ctx.sampleRate);
      const ch = buf.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
      const src = ctx.createBufferSource();
      src.buffer = buf;
      src.connect(dest);
      return new Promise((done) => { src.onended = () => done(buf.duration); src.start(); });
    },
  };
})();
""".replace("RATE", str(RATE))


@pytest.fixture
def chromium():
    """A headless Chromium that may use the microphone and play audio unprompted."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system-deps.sh as root (Debian: chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


class Caller:
    """Speaks into the page's microphone and waits on what the page shows of the bot."""

    def __init__(self, page, speak) -> None:
        self.page = page
        self.speak = speak

    def say(self, text: str) -> None:
        pcm = base64.b64encode(self.speak(text, RATE)).decode()
        self.page.evaluate("(b64) => window.caller.say(b64)", pcm)

    def bot_turns(self) -> int:
        return self.page.locator(".turn.bot").count()

    def turn_over(self, after: int) -> str:
        """The text of the bot's turn after the first ``after``, once it has stopped playing
        for QUIET_S; "" if no turn came within WAIT_MS."""
        deadline = time.monotonic() + WAIT_MS / 1000
        quiet_since = None
        while time.monotonic() < deadline and not self.page.locator(".ended").count():
            playing = self.page.locator("#bot.on").count() > 0
            if self.bot_turns() > after and not playing:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= QUIET_S:
                    return self.page.locator(".turn.bot .text").last.inner_text()
            else:
                quiet_since = None
            self.page.wait_for_timeout(100)
        return ""

    def barge_in(self, text: str, into: str) -> int:
        """Say ``text`` BARGE_IN_S after the bot starts a reply beginning with ``into``; the
        bot's turns before it."""
        self.page.wait_for_selector(f".turn.bot .seg:text-matches('^{into}')", timeout=WAIT_MS)
        self.page.wait_for_timeout(1000 * BARGE_IN_S)
        before = self.bot_turns()
        self.say(text)
        return before

    def answer(self, before: int) -> None:
        """Answer each bot turn after the first ``before`` by RULES, up to the goodbye."""
        for _ in range(MAX_ANSWERS):
            rule = rule_for(RULES, normalize(self.turn_over(before)))
            if rule is None:
                return
            before = self.bot_turns()
            self.say(rule.say)
            if rule.say == GOODBYE:
                return


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
    talk_server, chromium, speak
):
    base = talk_server.url.replace("127.0.0.1", "localhost")  # a secure context without TLS
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    page.add_init_script(FAKE_MIC)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    shot(page, "talk-start.png")
    caller = Caller(page, speak)
    try:
        page.click("#start")
        page.wait_for_function("window.voxline.callId !== null", timeout=WAIT_MS)
        call_id = page.evaluate("window.voxline.callId")
        assert "What kind of pizza" in caller.turn_over(0)
        caller.say(QUESTION)
        wait_for(page, ".turn.caller:not(.live)")
        # The order barges in on the topping list: playback cleared, the answer marked cut
        # (a turn's latency bar comes when it ends).
        before = caller.barge_in(ORDER, "For toppings,")
        wait_for(page, ".turn.bot.interrupted")
        wait_for(page, ".turn.bot .latency")
        caller.answer(before)
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
