"""The HTTP client of the agents that hand the dialog to a remote server (plugin, nvidia_rag)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx


class DialogServer:
    """One server's base URL and a client made on first use (an agent may never be asked)."""

    def __init__(
        self,
        server: str,
        label: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,  # e.g. an app in this process
    ) -> None:
        self.url = server.rstrip("/")
        self.label = label  # names the server in errors, e.g. "plugin"
        self.timeout = timeout
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=5.0), transport=self.transport
            )
        return self._client

    @asynccontextmanager
    async def stream(self, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """POST ``path`` and stream the answer; anything but 200 is a ``ConnectionError``."""
        async with self.client.stream("POST", f"{self.url}{path}", **kwargs) as response:
            if response.status_code != 200:
                detail = (await response.aread())[:300].decode("utf-8", "replace")
                raise ConnectionError(
                    f"{self.label} {self.url}{path}: HTTP {response.status_code}: {detail}"
                )
            yield response

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
