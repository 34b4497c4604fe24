"""The real receiver: ``otklik receive`` served by uvicorn on a free loopback port, and the receiver
process that ``make serve`` (otklik/serve.py ``Stack``) starts and stops beside Prefect.

These start real processes (about 2 s each); everything else about the rules is tested in process.
"""

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otklik.serve import Stack, free_port, group_alive
from tests.flows.extract.webhooks.conftest import ENVIRON, SECRETS, body_of, landed_files, meta_signature
from tests.flows.extract.webhooks.test_hmac_sha256 import DELIVERIES
from tests.flows.extract.webhooks.test_vk_callback import MESSAGE_NEW

START_TIMEOUT_SECONDS = 60


def receiver_env(landing: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "PREFECT_"))}
    return {**base, **ENVIRON, "OTKLIK_LANDING": str(landing), "OTKLIK_PII_KEY": "test-key-not-a-secret-0123456789"}


def wait_until_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the receiver exited with {proc.returncode}\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the receiver did not answer in {START_TIMEOUT_SECONDS} s\n{log.read_text()}")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(base URL, landing folder, log file) of `otklik receive` running in a process of its own."""
    landing, log = tmp_path / "landing", tmp_path / "receiver.log"
    landing.mkdir()
    port = free_port()
    otklik = Path(sys.executable).parent / "otklik"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(otklik), "receive", "--host", "127.0.0.1", "--port", str(port), "--landing", str(landing)],
            env=receiver_env(tmp_path / "elsewhere"),  # --landing wins over OTKLIK_LANDING
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc, log)
        yield url, landing, log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_otklik_receive_verifies_lands_caps_and_keeps_secrets(receiver: tuple[str, Path, Path]) -> None:
    url, landing, log = receiver
    secret = SECRETS["OTKLIK_CHAT_WEBHOOK_SECRET"]
    body = body_of(DELIVERIES["website_chat"])
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Otklik-Timestamp": stamp, "X-Otklik-Signature": f"sha256={signature}"}

    with httpx.Client(base_url=url, timeout=10) as client:
        assert (
            client.post(
                "/hooks/website_chat", content=body, headers={**headers, "X-Otklik-Signature": "sha256=0"}
            ).status_code
            == 401
        )
        landed = client.post("/hooks/website_chat", content=body, headers=headers)
        assert landed.status_code == 200, landed.text
        again = client.post("/hooks/website_chat", content=body, headers=headers)
        assert again.headers["X-Otklik-Duplicate"] == "true"
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": SECRETS["OTKLIK_WHATSAPP_VERIFY_TOKEN"],
            "hub.challenge": "31",
        }
        assert client.get("/hooks/whatsapp", params=params).text == "31"
        whatsapp = b'{"entry": []}'
        signed = meta_signature(SECRETS["OTKLIK_WHATSAPP_APP_SECRET"], whatsapp)
        assert client.post("/hooks/whatsapp", content=whatsapp, headers=signed).status_code == 200
        assert client.post("/hooks/vk_messages", content=body_of(MESSAGE_NEW)).text == "ok"
        assert client.post("/hooks/telegram_bot", content=b"{}").status_code == 404

    # 20 MB announced: the answer is 413 after the headers and one chunk, the rest is never sent.
    status_line = _post_headers_then_wait(url, "/hooks/whatsapp", 20 * 2**20, signed)
    assert status_line.startswith("HTTP/1.1 413"), status_line

    files = landed_files(landing)
    assert [f.parent.parent.parent.name for f in files] == ["vk_messages", "website_chat"]
    assert json.loads(files[1].read_text(encoding="utf-8")) == DELIVERIES["website_chat"]
    output = log.read_text(errors="replace")
    assert "POST /hooks/website_chat 200" in output and "GET /hooks/whatsapp 200" in output
    for name, value in SECRETS.items():
        assert value not in output, name
        for path in files:
            assert value.encode() not in path.read_bytes(), name


def _post_headers_then_wait(url: str, path: str, length: int, headers: dict[str, str]) -> str:
    """Send a POST's head announcing ``length`` bytes and 64 KiB of them; return the answer's status line."""
    host, port = url.removeprefix("http://").split(":")
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Length: {length}",
        "Content-Type: application/json",
    ]
    head += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"{" * 2**16)
        answer = sock.recv(4096).decode("latin-1")
    return answer.splitlines()[0] if answer else ""


def test_make_serve_starts_and_stops_the_receiver_with_the_stack(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    stack = Stack(env=receiver_env(landing), log_dir=tmp_path / "logs")
    try:
        stack.start_receiver()
        assert stack.receiver is not None and stack.alive() is False  # no server or worker in this test
        answer = httpx.post(f"{stack.receiver_url}/hooks/vk_messages", content=body_of(MESSAGE_NEW), timeout=10)
        assert (answer.status_code, answer.text) == (200, "ok")
        assert [f.parent.parent.parent.name for f in landed_files(landing)] == ["vk_messages"]
    finally:
        receiver = stack.receiver
        stack.stop()
    assert receiver is not None and receiver.returncode is not None
    assert not group_alive(receiver.pid)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{stack.receiver_url}/health", timeout=2)
    log = (tmp_path / "logs" / "receiver.log").read_text(errors="replace")
    assert "POST /hooks/vk_messages 200" in log
    assert SECRETS["OTKLIK_VK_CALLBACK_SECRET"] not in log
