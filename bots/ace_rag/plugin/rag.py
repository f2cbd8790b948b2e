"""The RAG plugin of ACE's RAG tutorial: /rag/chat streams answers from an NVIDIA RAG chain
server (POST {RAG_SERVER_URL}/generate).

Voxline serves that API from the bot's own knowledge base, so by default this plugin asks the
Voxline server it runs in (Voxline sets RAG_SERVER_URL to its own address while it imports
this file, unless you set it); point RAG_SERVER_URL at an NVIDIA RAG server to use that one.
RAG_SERVER_API_KEY, when set, is sent as a bearer token (Voxline's VOXLINE_API_KEY).
"""

import json
import logging
import os
from typing import Annotated, List, Optional

import aiohttp
from fastapi import APIRouter, Body, Response, status
from fastapi.responses import StreamingResponse
from schemas import ChatRequest, ChatResponse, EventRequest, EventResponse

logger = logging.getLogger("plugin")
router = APIRouter()

RAG_SERVER_URL = os.getenv("RAG_SERVER_URL", "http://localhost:8081")
GENERATION_URL = f"{RAG_SERVER_URL.rstrip('/')}/generate"
API_KEY = os.getenv("RAG_SERVER_API_KEY", "")
HEADERS = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}

MAX_TOKENS = 200
TEMPERATURE = 0.2
TOP_P = 0.7
STOP_WORDS = []

# Pipeline events after which the bot does not wait for the user.
NO_USER_RESPONSE = {
    "system.event_pipeline_acquired",
    "system.event_pipeline_released",
    "system.event_exit",
}


async def rag_stream(
    question: Optional[str] = "",
    chat_history: Optional[List] = [],
    num_tokens: Optional[int] = MAX_TOKENS,
) -> StreamingResponse:
    """
    Call the RAG chain server and return the streaming response.
    """

    request_json = {
        "messages": chat_history + [{"role": "user", "content": question}],
        "use_knowledge_base": True,
        "temperature": TEMPERATURE,
        "top_p": TOP_P,
        "max_tokens": num_tokens,
        "seed": 42,
        "bad": [],
        "stop": STOP_WORDS,
        "stream": True,
    }

    # Method that forwards the stream to the Chat controller
    async def generator():
        full_response = ""
        if question:
            async with aiohttp.ClientSession(headers=HEADERS) as session:
                async with session.post(GENERATION_URL, json=request_json) as resp:
                    async for chunk, _ in resp.content.iter_chunks():
                        try:
                            chunk = chunk.decode("utf-8")
                            chunk = chunk.strip("\n")

                            try:
                                if len(chunk) > 6:
                                    parsed = json.loads(chunk[6:])
                                    message = parsed["choices"][0]["message"]["content"]
                                else:
                                    logger.debug(f"Received empty RAG response chunk '{chunk}'.")
                                    message = ""
                            except Exception as e:
                                logger.warning(f"Parsing RAG response chunk '{chunk}' failed. {e}")
                                message = ""

                            if not message:
                                continue

                            full_response += message

                            json_chunk = ChatResponse()
                            json_chunk.Response.Text = message
                            json_chunk.Response.CleanedText = message
                            json_chunk = json.dumps(json_chunk.model_dump())
                            yield json_chunk
                        except Exception as e:
                            yield f"Internal error in RAG stream: {e}"
                            break

        logger.info(f"Full RAG response for query `{question}` : {full_response}")
        json_chunk = ChatResponse()
        json_chunk.Response.IsFinal = True
        json_chunk = json.dumps(json_chunk.model_dump())
        yield json_chunk

    return StreamingResponse(generator(), media_type="text/event-stream")


@router.post(
    "/chat",
    status_code=status.HTTP_200_OK,
)
async def chat(
    request: Annotated[
        ChatRequest,
        Body(
            description="Chat Engine Request JSON. All the fields populated as part of this "
            "JSON is also available as part of request JSON."
        ),
    ],
    response: Response,
) -> StreamingResponse:
    """
    This endpoint can be used to provide response to query driven user request.
    """

    req = request.model_dump(exclude_none=True)
    logger.info(f"Received request JSON at /chat_stream endpoint for RAG : {json.dumps(req)}")

    try:
        chat_history = []
        if "Metadata" in req:
            chat_history = req["Metadata"].get("ChatHistory", [])
        resp = await rag_stream(question=req["Query"], chat_history=chat_history)
        return resp
    except Exception as e:
        response.status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
        return {"StatusMessage": str(e)}


@router.post("/event", status_code=status.HTTP_200_OK)
async def event(request: EventRequest) -> EventResponse:
    """
    Pipeline events from the Chat Controller (only sent when it is connected to the plugin
    directly): acknowledged.
    """
    answer = EventResponse(UserId=request.UserId)
    answer.Response.IsFinal = True
    answer.Response.NeedUserResponse = request.EventType not in NO_USER_RESPONSE
    return answer
