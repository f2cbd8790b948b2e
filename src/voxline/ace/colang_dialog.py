"""One call's Colang 2 dialog: the call's speech in as UMIM events, the flows' actions out.

The call hands every listener event to ``heard`` and runs ``run`` as a task for its whole
life. Transcripts become ``UtteranceUserAction`` events (``umim.UserUtterances``); the bot's
speech is reported from the call's notes (``BotSaid``: its first audio went out;
``TurnEnded``: the caller heard the last of it). The runtime's output is acted on:

- ``StartUtteranceBotAction(script)``: the call speaks the script, streamed through TTS after
  whatever the bot is saying now;
- ``StopUtteranceBotAction``: a barge-in stop. The audio is cleared at once; what the caller
  heard stays in the call's history and is the utterance's ``final_script``;
- ``TimerBotAction``: a real timer (``wait``, ``user was silent``); any other action is
  acknowledged (started and finished), since a phone line has no gestures or screens.

Events are processed one cycle at a time; local async actions (the chat actions) are polled
on a tick and, sooner, whenever one finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from voxline.ace import umim
from voxline.ace.chat_actions import ChatEndpoints, ChatStream, current_host
from voxline.agents.plugin import chat_request, chat_sentences
from voxline.events import BotSaid, CallNote, ListenerEvent, Transcript, TurnEnded

if TYPE_CHECKING:
    from voxline.call import Call
    from voxline.reply import Reply

log = logging.getLogger(__name__)
TICK_S = 0.1  # how often pending async actions are polled (each also wakes the loop at its end)
PRUNED = frozenset(("IsSpuriousAction", "SameTranscriptAction"))


class ColangDialog:
    def __init__(self, runtime: Any, endpoints: ChatEndpoints, call: Call) -> None:
        self.runtime = runtime
        self.endpoints = endpoints
        self.call = call
        self.state: Any = None
        self._inbox: list[umim.Event] = []
        self._wake = asyncio.Event()
        self._user = umim.UserUtterances()
        self._utterance = ""  # uid of the caller's latest utterance
        self._onset: float | None = None  # when it began (first transcript)
        self._speech_end: dict[str, float | None] = {}  # utterance uid -> end of its speech
        self._history_utterance = ""  # utterance of the history's last user turn
        self._pending_user: tuple[str, float | None] | None = None  # for the next bot reply
        self._saying: dict[str, Reply] = {}  # UtteranceBotAction uid -> its reply
        self._scripts: dict[str, str] = {}
        self._by_reply: dict[int, str] = {}  # reply id -> action uid
        self._started: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._streams: dict[str, ChatStream] = {}  # request id -> stream
        self._latest: dict[str, ChatStream] = {}  # endpoint -> its latest stream
        call.observers.append(self._observe)

    # --- the call's side ----------------------------------------------------------------------

    def heard(self, event: ListenerEvent) -> None:
        """A listener event (VAD edges carry nothing the flows need: the recognizer's
        transcripts mark the caller's utterances)."""
        if not isinstance(event, Transcript):
            return
        was_open = self._user.uid is not None
        events = self._user.transcript(event)
        if events and not was_open:
            self._utterance = str(events[0]["action_uid"])
            self._onset = event.t
        if events:
            self._speech_end[self._utterance] = event.speech_end
        self._send(*events)

    def _observe(self, note: CallNote) -> None:
        if isinstance(note, BotSaid):
            uid = self._by_reply.get(note.reply_id)
            if uid is not None and uid not in self._started:
                self._started.add(uid)
                self._send(umim.bot_started(uid))
        elif isinstance(note, TurnEnded):
            uid = self._by_reply.pop(note.reply_id, None)
            if uid is not None and self._saying.pop(uid, None) is not None:
                script = self._scripts.pop(uid, "")
                spoken = note.outcome == "spoken"
                self._send(umim.bot_finished(uid, script if spoken else note.heard, not spoken))

    def _send(self, *events: umim.Event) -> None:
        if events:
            self._inbox.extend(events)
            self._wake.set()

    # --- the runtime loop ---------------------------------------------------------------------

    async def run(self) -> None:
        current_host.set(self)  # the chat actions started in this task find their call here
        call_id = self.call.call_id
        self._send(umim.context_update(user_id=call_id, session_id=call_id, stream_id=call_id))
        try:
            while True:
                events, self._inbox = self._inbox, []
                self._wake.clear()
                try:
                    out, self.state = await self.runtime.process_events(events, self.state)
                except Exception:
                    log.exception("call %s: Colang event processing failed", call_id)
                    out = []
                self._prune()
                for event in out:
                    log.debug("call %s: Colang %s %s", call_id, event.get("type"),
                              event.get("script") or event.get("action_uid") or "")  # fmt: skip
                    await self._act(event)
                await self._reap()
                if not self._inbox:
                    await self._idle()
        finally:
            for handle in self._timers.values():
                handle.cancel()
            for stream in list(self._streams.values()):
                await stream.cancel()

    def _prune(self) -> None:
        """Drop the speech library's finished filter actions from the state. They are read
        for their return value only, yet NeMo keeps every action of a flow for the flow's
        life, and the transcript handler lives as long as the call: each would cost a little
        on every later event."""
        state = self.state
        if state is None:
            return
        actions = state.actions
        for flow in state.flow_states.values():
            done = {
                uid
                for uid in flow.action_uids
                if (a := actions.get(uid)) is not None
                and a.name in PRUNED
                and a.status.name == "FINISHED"
            }
            if done:
                flow.action_uids[:] = [uid for uid in flow.action_uids if uid not in done]
                for uid in done:
                    actions.pop(uid, None)

    async def _idle(self) -> None:
        """Sleep until an event comes, an async action ends, or (with some pending) a tick."""
        main = getattr(getattr(self.state, "main_flow_state", None), "uid", None)
        pending = [t for t in self.runtime.async_actions.get(main, []) if not t.done()]
        for task in pending:
            task.add_done_callback(lambda _: self._wake.set())
        if any(t.done() for t in self.runtime.async_actions.get(main, [])):
            return  # one finished meanwhile: collect it now
        timeout = TICK_S if pending else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _act(self, event: umim.Event) -> None:
        kind = str(event.get("type", ""))
        if kind == "StartUtteranceBotAction":
            self._say(event)
        elif kind == "StopUtteranceBotAction":
            await self._stop_saying(str(event["action_uid"]))
        elif kind == "StartTimerBotAction":
            self._start_timer(event)
        elif kind == "StopTimerBotAction":
            handle = self._timers.pop(str(event["action_uid"]), None)
            if handle is not None:
                handle.cancel()
                self._send(umim.stopped(event))
        elif kind.startswith("Start") and kind.endswith("Action"):
            self._send(*umim.acknowledged(event))
        elif kind.startswith("Stop") and kind.endswith("Action"):
            self._send(umim.stopped(event))
        elif kind == "PartialUserUtteranceAvailable":
            log.info("call %s: acting on %r", self.call.call_id, event.get("transcript"))

    # --- bot speech ---------------------------------------------------------------------------

    def _say(self, event: umim.Event) -> None:
        uid, script = str(event["action_uid"]), str(event.get("script", ""))
        if not script.strip():
            self._send(umim.bot_started(uid), umim.bot_finished(uid, script))
            return
        user_text, speech_end = self._pending_user or (None, None)
        self._pending_user = None
        reply = self.call.say(script, user_text=user_text, speech_end=speech_end)
        self._saying[uid], self._scripts[uid], self._by_reply[reply.id] = reply, script, uid

    async def _stop_saying(self, uid: str) -> None:
        reply = self._saying.pop(uid, None)
        if reply is None:
            return  # already over: its Finished was sent
        self._by_reply.pop(reply.id, None)
        self._scripts.pop(uid, None)
        # Caller speech still going on is a barge-in from its onset; a retrigger on a final
        # (the utterance is over) stops the bot now.
        onset = self._onset if self._user.uid is not None else None
        heard = await self.call.stop_reply(reply, onset)
        self._send(umim.bot_finished(uid, heard, stopped=True))

    def _start_timer(self, event: umim.Event) -> None:
        uid = str(event["action_uid"])
        try:
            duration = max(0.0, float(event.get("duration", 0)))
        except (TypeError, ValueError):
            duration = 0.0
        self._send(umim.event("TimerBotActionStarted", action_uid=uid))

        def ring() -> None:
            self._timers.pop(uid, None)
            self._send(umim.event("TimerBotActionFinished", action_uid=uid, is_success=True))

        self._timers[uid] = asyncio.get_running_loop().call_later(duration, ring)

    # --- the chat actions' side (chat_actions.ChatHost) -----------------------------------------

    def open_chat(
        self, question: str, endpoint: str, chat_history: bool, request_id: str, flow_uid: str
    ) -> ChatStream:
        http, path = self.endpoints.resolve(endpoint)
        history = self.call.history
        previous = history.conversation() if chat_history else None
        if self._history_utterance == self._utterance and history.user_texts():
            history.replace_user(question)  # a retrigger: the same utterance, heard again
        else:
            history.user(question)
        self._history_utterance = self._utterance
        self._pending_user = (question, self._speech_end.get(self._utterance))
        call_id = self.call.call_id
        body, params = chat_request(question, call_id, call_id, call_id, previous, request_id)
        sentences = chat_sentences(http, path, body, params)
        stream = ChatStream(request_id, endpoint, flow_uid, sentences)
        old = self._latest.get(endpoint)
        if old is not None and not old.done:
            self._cancel_later(old)  # a new question on the endpoint: the old answer is moot
        self._streams[request_id] = self._latest[endpoint] = stream
        stream.start()
        return stream

    def find_chat(self, endpoint: str, request_id: str | None) -> ChatStream | None:
        return self._streams.get(request_id) if request_id else self._latest.get(endpoint)

    def _cancel_later(self, stream: ChatStream) -> None:
        self._streams.pop(stream.request_id, None)
        task = asyncio.get_running_loop().create_task(stream.cancel())
        task.add_done_callback(lambda _: None)

    async def _reap(self) -> None:
        """Cancel the streams whose invoking flow was stopped or ended without reading on."""
        if not self._streams or self.state is None:
            return
        flows = self.state.flow_states
        for request_id, stream in list(self._streams.items()):
            if not stream.flow_uid:
                continue  # its flow is unknown: a newer question on the endpoint ends it
            flow = flows.get(stream.flow_uid)
            status = getattr(getattr(flow, "status", None), "value", "")
            if flow is None or status in ("stopping", "stopped", "finished"):
                del self._streams[request_id]
                if self._latest.get(stream.endpoint) is stream:
                    del self._latest[stream.endpoint]
                if not stream.done:
                    log.info("call %s: chat %s cancelled", self.call.call_id, stream.endpoint)
                await stream.cancel()
