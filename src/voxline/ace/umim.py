"""The call's speech as UMIM events for a Colang 2 runtime (pure: no runtime, no I/O).

ACE's Chat Controller speaks to the Chat Engine in UMIM (Unified Multimodal Interaction
Management) events; Voxline's recognizer and playout produce the same facts, mapped here:

- the caller's first transcript of an utterance starts an ``UtteranceUserAction``
  (``UtteranceUserActionStarted``); each partial transcript is a
  ``UtteranceUserActionTranscriptUpdated`` (stability 0.0: Voxline's recognizers keep no
  per-word stability; a repeat of the previous one is left out, each costs the runtime a
  few milliseconds) and the first-pass end of utterance one with stability 1.0; the final
  transcript finishes the action (``UtteranceUserActionFinished``);
- the bot's ``UtteranceBotAction`` started (its first audio went out) and finished (its last
  mark came back, or it was stopped: ``was_stopped`` and the words the caller heard).

Events are plain dicts built with NeMo Guardrails' ``new_event_dict`` so they carry the ids
and timestamps its runtime checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nemoguardrails.utils import new_event_dict, new_uuid

from voxline.events import Transcript, TranscriptKind

Event = dict[str, Any]
SOURCE = "voxline"


def event(kind: str, **payload: Any) -> Event:
    return new_event_dict(kind, source_uid=SOURCE, **payload)


def context_update(**data: Any) -> Event:
    """Globals for the flows (``$user_id``, ``$session_id``, ``$stream_id``)."""
    return event("ContextUpdate", data=data)


@dataclass
class UserUtterances:
    """One ``UtteranceUserAction`` per utterance of the caller, from its transcripts."""

    uid: str | None = None  # the open utterance's action uid
    _last: tuple[str, float] | None = None  # its latest transcript update

    def transcript(self, tr: Transcript) -> list[Event]:
        text = tr.text.strip()
        out: list[Event] = []
        if self.uid is None:
            if not text:
                return []  # nothing heard, nothing to open
            self.uid = new_uuid()
            out.append(event("UtteranceUserActionStarted", action_uid=self.uid))
        if tr.kind is TranscriptKind.FINAL:
            out.append(
                event(
                    "UtteranceUserActionFinished",
                    action_uid=self.uid,
                    final_transcript=text,
                    is_success=True,
                )
            )
            self.uid, self._last = None, None
        else:
            stability = 1.0 if tr.kind is TranscriptKind.INTERIM else 0.0
            if self._last == (text, stability):
                return out  # a recognizer repeating itself: nothing new for the flows
            self._last = (text, stability)
            out.append(
                event(
                    "UtteranceUserActionTranscriptUpdated",
                    action_uid=self.uid,
                    interim_transcript=text,
                    stability=stability,
                )
            )
        return out


def bot_started(action_uid: str) -> Event:
    return event("UtteranceBotActionStarted", action_uid=action_uid)


def bot_finished(action_uid: str, script: str, stopped: bool = False) -> Event:
    """``script``: what was said (for a stopped utterance, what the caller heard of it)."""
    extra: dict[str, Any] = {"was_stopped": True, "failure_reason": "stopped"} if stopped else {}
    return event(
        "UtteranceBotActionFinished",
        action_uid=action_uid,
        final_script=script,
        is_success=not stopped,
        **extra,
    )


def action_name(start_or_stop: Event) -> str:
    """``StartTimerBotAction`` -> ``TimerBotAction``."""
    kind = str(start_or_stop["type"])
    return kind.removeprefix("Start").removeprefix("Stop")


def acknowledged(start: Event) -> list[Event]:
    """Started and Finished for an action this host has nothing to do for (a gesture on a
    phone line), so the flows awaiting it go on."""
    name, uid = action_name(start), start["action_uid"]
    return [
        event(f"{name}Started", action_uid=uid),
        event(f"{name}Finished", action_uid=uid, is_success=True),
    ]


def stopped(stop: Event) -> Event:
    return event(
        f"{action_name(stop)}Finished", action_uid=stop["action_uid"], is_success=False,
        was_stopped=True, failure_reason="stopped",
    )  # fmt: skip
