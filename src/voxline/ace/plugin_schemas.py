"""ACE Agent plugin-server schemas (``samples/rag_bot/plugins/schemas.py``), in pydantic.

Field names are ACE's (PascalCase) so ACE's Chat Controller and Chat Engine can talk to a
Voxline plugin server, and a Voxline bot can talk to any ACE plugin. ``ChatHistory`` messages
are checked so a malformed history is refused with a clear 422 rather than failing later.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

# Pipeline lifecycle events after which the bot should not wait for the user to speak.
NO_USER_RESPONSE_EVENTS = frozenset(
    {"system.event_pipeline_acquired", "system.event_pipeline_released", "system.event_exit"}
)


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str


class ChatRequest(BaseModel):
    Query: str = Field("", description="The user's question")
    UserId: str = Field(..., min_length=1, description="Unique id of the user or pipeline")
    Metadata: dict[str, Any] = Field(
        default_factory=dict, description="SessionId, StreamId and ChatHistory from Chat Engine"
    )

    @field_validator("Metadata")
    @classmethod
    def _history_is_messages(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        history = metadata.get("ChatHistory")
        if history is not None:
            if not isinstance(history, list):
                raise ValueError("ChatHistory must be a list of {role, content} messages")
            for i, message in enumerate(history):
                try:
                    HistoryMessage.model_validate(message)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    raise ValueError(f"ChatHistory[{i}].{where}: {first['msg']}") from None
        return metadata

    def chat_history(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.Metadata.get("ChatHistory") or []]


class EventRequest(BaseModel):
    EventType: str = Field("", description="e.g. system.event_pipeline_acquired")
    UserId: str = Field(..., min_length=1, description="Unique id of the user or pipeline")


class ResponseField(BaseModel):
    Text: str = ""
    CleanedText: str = ""  # Text without SSML/HTML markup
    NeedUserResponse: bool = True
    IsFinal: bool = False


class ChatResponse(BaseModel):
    UserId: str = ""
    QueryId: str = ""
    Response: ResponseField = Field(default_factory=ResponseField)
    Metadata: dict[str, Any] = Field(default_factory=lambda: {"SessionId": "", "StreamId": ""})


class EventResponse(BaseModel):
    UserId: str = ""
    Events: list[dict[str, Any]] = Field(default_factory=list)
    Response: ResponseField = Field(default_factory=ResponseField)


def describe_errors(exc: ValidationError) -> str:
    """One line per problem: ``UserId: Field required``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)
