"""The README's FastAPI example (a session per request through a dependency), served by a
real ASGI server (uvicorn) on loopback to concurrent clients (issue 17)."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
import uvicorn

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    (block,) = [b for b in blocks if "FastAPI()" in b]
    return str(block)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_fastapi")
    monkeypatch.setitem(sys.modules, "readme_fastapi", module)
    exec(
        compile(_example(), "README.md FastAPI example", "exec", dont_inherit=True), module.__dict__
    )
    config = uvicorn.Config(module.app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    (sock,) = [s for srv in server.servers for s in srv.sockets]
    port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}", module
    server.should_exit = True
    thread.join(10)
    module.store.close()


def test_the_fastapi_example_serves_concurrent_clients(served: Any) -> None:
    url, module = served
    clients, views = 16, 5

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            puts = [
                http.put(f"/products/{n}", json={"Name": f"product {n}", "Price": n})
                for n in range(clients)
            ]
            for answer in await asyncio.gather(*puts):
                assert answer.status_code == 200, answer.text
            # Every client views product 0 several times at once, and its own product.
            posts = [http.post("/products/0/views") for _ in range(clients * views)]
            posts += [http.post(f"/products/{n}/views") for n in range(1, clients)]
            answers = await asyncio.gather(*posts)
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            assert (await http.post("/products/99/views")).status_code == 404

    asyncio.run(scenario())
    with module.store.open_session() as session:
        assert session.counters_for("products/0").get("views") == clients * views
        assert [session.counters_for(f"products/{n}").get("views") for n in range(1, clients)] == [
            1
        ] * (clients - 1)
        assert session.load("products/3")["Price"] == 3
