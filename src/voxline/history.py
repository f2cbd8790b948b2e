"""Conversation history that matches what the caller actually heard.

Messages use the OpenAI chat format, which every agent backend understands. The bot's part of
the record is written from what was played, not from what the agent generated, so after a
barge-in the next reply does not assume the caller heard sentences that were cut off.
"""

from __future__ import annotations

import json
from typing import Any

from voxline.events import ToolCall, ToolResult

Message = dict[str, Any]


class History:
    def __init__(self, system: str = "") -> None:
        self._messages: list[Message] = []
        self.system = system

    def messages(self) -> list[Message]:
        """The messages for an LLM request, system prompt first."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [dict(m) for m in self._messages]

    def user(self, text: str) -> None:
        self._messages.append({"role": "user", "content": text})

    def replace_user(self, text: str) -> None:
        """Replace the latest user turn and drop what followed it: a retriggered turn."""
        for i in range(len(self._messages) - 1, -1, -1):
            if self._messages[i]["role"] == "user":
                del self._messages[i:]
                break
        self.user(text)

    def assistant(self, text: str) -> None:
        """Record bot speech the caller heard; consecutive pieces join into one message."""
        if not text:
            return
        last = self._messages[-1] if self._messages else None
        if last and last["role"] == "assistant" and "tool_calls" not in last:
            last["content"] = f"{last['content']} {text}".strip()
        else:
            self._messages.append({"role": "assistant", "content": text})

    def tool_call(self, call: ToolCall) -> None:
        self._messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                ],
            }
        )

    def tool_result(self, result: ToolResult) -> None:
        content = json.dumps({"error": result.error} if result.error else result.result)
        self._messages.append({"role": "tool", "tool_call_id": result.call.id, "content": content})

    def conversation(self) -> list[Message]:
        """What was said aloud, in order: no system prompt, no tool traffic."""
        return [
            {"role": m["role"], "content": m["content"]}
            for m in self._messages
            if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str)
        ]

    def user_texts(self) -> list[str]:
        return [m["content"] for m in self._messages if m["role"] == "user"]
