"""Http11Transport against a small real HTTP(S) server on 127.0.0.1 that misbehaves on request."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess

import httpx
import pytest

from wamkt_nb.cloudapi import AsyncCloudClient, OutcomeUnknownError, TransportError
from wamkt_nb.cloudapi.transport import Http11Transport

OK = b'{"messaging_product":"whatsapp","contacts":[{"input":"+49","wa_id":"49"}],"messages":[{"id":"wamid.1"}]}'


class Server:
    """Answers by path: ``/ok``, ``/chunked``, ``/gzip``, ``/close`` (Connection: close), ``/drop``
    (headers, then the connection dies), ``/silent`` (never answers), ``/hangup`` (answers, then closes)."""

    def __init__(self) -> None:
        self.connections = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")
                path = lines[0].split()[1]
                length = next(
                    (int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")), 0
                )
                self.bodies.append(await reader.readexactly(length))
                if path.endswith("/silent"):
                    await asyncio.sleep(30)
                if path.endswith("/drop"):
                    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"half')
                    await writer.drain()
                    writer.transport.abort()
                    return
                if path.endswith("/chunked"):
                    writer.write(
                        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
                    )
                elif path.endswith("/gzip"):
                    body = gzip.compress(OK)
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                else:
                    close = path.endswith("/close")
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                        % (len(OK), b"Connection: close\r\n" if close else b"", OK)
                    )
                    if close or path.endswith("/hangup"):
                        await writer.drain()
                        writer.close()
                        return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server():
    srv = Server()
    tcp = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.url = f"http://127.0.0.1:{tcp.sockets[0].getsockname()[1]}"
    yield srv
    tcp.close()


async def test_keep_alive_reuses_connections_and_bounds_them(server):
    async with httpx.AsyncClient(transport=Http11Transport(max_connections=3)) as client:
        for i in range(10):
            r = await client.post(f"{server.url}/v1/ok", content=b'{"n":%d}' % i)
            assert r.status_code == 200 and r.json()["messages"][0]["id"] == "wamid.1"
        assert server.connections == 1
        rs = await asyncio.gather(*(client.post(f"{server.url}/v1/ok", content=b"{}") for _ in range(20)))
        assert all(r.status_code == 200 for r in rs) and server.connections <= 3
    assert server.bodies[:2] == [b'{"n":0}', b'{"n":1}']


async def test_chunked_gzip_and_connection_close(server):
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        assert (await client.get(f"{server.url}/chunked")).json() == {"a": 1}
        assert (await client.get(f"{server.url}/gzip")).json()["messages"][0]["id"] == "wamid.1"
        before = server.connections
        await client.get(f"{server.url}/close")
        await client.get(f"{server.url}/ok")
        assert server.connections == before + 1  # the closed one was not reused


async def test_a_connection_the_server_closed_while_idle_is_not_reused(server):
    async with httpx.AsyncClient(transport=Http11Transport()) as client:
        await client.get(f"{server.url}/hangup")
        await asyncio.sleep(0.05)
        assert (await client.get(f"{server.url}/ok")).status_code == 200
    assert server.connections == 2


async def test_failures_map_to_httpx_and_client_errors(server):
    # only the request meant to time out gets a short timeout: a stalled CI machine must not turn the
    # others into timeouts too
    async with httpx.AsyncClient(transport=Http11Transport(), timeout=30.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{server.url}/drop", content=b"{}")
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{server.url}/silent", content=b"{}", timeout=0.3)
        assert (await client.get(f"{server.url}/ok")).status_code == 200  # still usable afterwards
    async with AsyncCloudClient(base_url=server.url, access_token="t", timeout=30.0) as cloud:
        with pytest.raises(OutcomeUnknownError, match="connection dropped"):
            await cloud.request("POST", "/drop", json={})
    async with AsyncCloudClient(base_url=server.url, access_token="t", timeout=0.3) as cloud:
        with pytest.raises(OutcomeUnknownError, match="no answer within"):
            await cloud.request("POST", "/silent", json={})
    async with AsyncCloudClient(base_url="http://127.0.0.1:9", access_token="t") as cloud:
        with pytest.raises(TransportError, match="could not connect"):
            await cloud.send_message("1", {"to": "+49"})


async def test_pool_timeout_when_every_connection_is_busy(server):
    async with httpx.AsyncClient(
        transport=Http11Transport(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.2)
    ) as client:
        slow = asyncio.ensure_future(client.post(f"{server.url}/silent", content=b"{}"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(f"{server.url}/ok")
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        assert (await client.get(f"{server.url}/ok")).status_code == 200  # the cancelled request freed its slot


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_with_a_verified_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    srv = Server()
    tls = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = tls.sockets[0].getsockname()[1]
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(transport=Http11Transport(ssl_context=trusted)) as client:
            assert (await client.get(f"https://localhost:{port}/ok")).status_code == 200
            assert (await client.get(f"https://localhost:{port}/ok")).status_code == 200
        assert srv.connections == 1
        async with httpx.AsyncClient(transport=Http11Transport()) as client:  # default trust: self-signed fails
            with pytest.raises(httpx.ConnectError):
                await client.get(f"https://localhost:{port}/ok")
    finally:
        tls.close()
