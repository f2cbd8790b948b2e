"""The ACE plugin API's request and response schemas (ACE's ``samples/rag_bot/plugin/schemas.py``),
as Voxline's plugin server defines them."""

from voxline.ace.plugin_schemas import (
    ChatRequest,
    ChatResponse,
    EventRequest,
    EventResponse,
    ResponseField,
)

__all__ = ["ChatRequest", "ChatResponse", "EventRequest", "EventResponse", "ResponseField"]
