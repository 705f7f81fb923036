"""No message lost or doubled when the server is killed: SIGKILL in the middle of the traffic.

    python -m benchmarks.durability [--backend sqlite|postgres|both] [--visitors 8]
                                    [--per-visitor 110] [--agents 2] [--per-agent 80]
                                    [--kills 3] [--out var/bench/durability.json]

For each backend, in a temporary folder (and, for PostgreSQL, a database of its own that is
dropped afterwards):

1. the sample KB is indexed with the hash embedder (the model is not what is tested here);
2. the server runs as a child process (uvicorn, one worker) on a free 127.0.0.1 port;
3. visitors (one thread and one conversation each) post messages with unique `client_id`s;
   half of the conversations are handed off first, so that agents (one thread each, logged
   in through the console's form) reply into them while their visitors keep writing;
4. `--kills` times, at even steps of the traffic, the server gets SIGKILL and is started
   again; visitors retry an unanswered message with the same `client_id` (the API's promise)
   until it is acknowledged; an agent's reply cut off by the kill is not retried (the console
   has no retry key) and counts as unacknowledged;
5. at the end the database is read directly.

Figures: acknowledged (200 for a visitor, 303 for an agent), stored (rows of those messages),
lost (acknowledged, not stored: must be 0), duplicated (stored more than once: must be 0),
500s (must be 0), sequence gaps (must be 0). The exit status is 1 when any of those is not 0.
Progress goes to stderr; stdout carries a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "durability test password"  # noqa: S105 - a throwaway agent
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


# -- the server, as a child process that can be killed --------------------------------------


def settings_for(tmp: Path, database_url: str) -> Any:
    from bot.config import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        kb_dir=ROOT / "kb_docs",
        index_dir=tmp / "index",
        database_url=database_url,
        embedding_model="hash-64",
        business_hours="Mon-Sun 00:00-23:59",
        rate_limit_per_minute=1_000_000,
    )


def serve(tmp: Path, database_url: str, port: int) -> None:
    """The child: the app on the hash embedder, served by uvicorn."""
    import uvicorn

    from bot.app import create_app
    from bot.context import AppContext
    from ingest.embed import HashEmbedder

    context = AppContext.build(settings_for(tmp, database_url), embedder=HashEmbedder(64))
    uvicorn.run(create_app(context=context), host="127.0.0.1", port=port, log_level="error")


class Server:
    def __init__(self, tmp: Path, database_url: str):
        self.tmp, self.database_url = tmp, database_url
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.durability",
            "--serve",
            str(self.tmp),
            "--database-url",
            self.database_url,
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(command, cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    self.up.set()
                    log(f"  server up in {time.monotonic() - deadline + 120:.1f} s")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not start in 120 s")

    def kill(self) -> None:
        assert self.process is not None
        self.up.clear()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


# -- the traffic -------------------------------------------------------------------------------


@dataclass
class Tally:
    acknowledged_visitor: list[str] = field(default_factory=list)  # client_ids
    acknowledged_agent: list[str] = field(default_factory=list)  # texts
    unacknowledged_agent: int = 0
    server_errors: int = 0
    retries: int = 0
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, attribute: str, value: Any = 1) -> None:
        with self.lock:
            current = getattr(self, attribute)
            if isinstance(current, list):
                current.append(value)
            else:
                setattr(self, attribute, current + value)


def visitor(server: Server, conversation: dict[str, Any], n: int, tally: Tally, tag: str) -> None:
    headers = {"Authorization": f"Bearer {conversation['token']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        for i in range(n):
            client_id = f"{tag}-{conversation['id'][:8]}-{i:04d}"
            body = {"client_id": client_id, "text": f"how do I return my order, part {i}"}
            tally.count("sent")
            while True:  # the API's promise: retry with the same client_id until answered
                server.up.wait(180)
                try:
                    response = http.post(
                        f"/api/v1/conversations/{conversation['id']}/messages", json=body
                    )
                except httpx.HTTPError:
                    tally.count("retries")
                    time.sleep(0.2)
                    continue
                if response.status_code >= 500:
                    tally.count("server_errors" if response.status_code == 500 else "retries")
                    time.sleep(0.2)
                    continue
                if response.status_code == 200:
                    tally.count("acknowledged_visitor", client_id)
                else:
                    log(f"visitor {client_id}: {response.status_code} {response.text[:200]}")
                break


def csrf_from(html: str) -> str:
    match = _META.search(html) or _CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the console page")
    return match.group(1)


def agent_login(server: Server, email: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=server.url, timeout=60, follow_redirects=False)
    page = http.get("/console/login")
    response = http.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    if response.status_code != 303:
        raise RuntimeError(f"agent login: {response.status_code} {response.text[:200]}")
    return http, csrf_from(http.get("/console").text)


def agent(
    server: Server,
    login: tuple[httpx.Client, str],
    conversations: list[str],
    n: int,
    tally: Tally,
    tag: str,
) -> None:
    http, csrf = login
    try:
        for i in range(n):
            conversation_id = conversations[i % len(conversations)]
            text = f"{tag} reply {i:04d}"
            tally.count("sent")
            server.up.wait(180)
            try:
                response = http.post(
                    f"/console/conversations/{conversation_id}/reply",
                    data={"csrf_token": csrf, "text": text},
                )
            except httpx.HTTPError:
                tally.count("unacknowledged_agent")  # committed or not: unknown, not retried
                continue
            if response.status_code == 303:
                tally.count("acknowledged_agent", text)
            elif response.status_code == 500:
                tally.count("server_errors")
            else:
                tally.count("unacknowledged_agent")
                log(f"agent {text}: {response.status_code} {response.text[:200]}")
    finally:
        http.close()


def killer(server: Server, tally: Tally, total: int, kills: int, done: threading.Event) -> int:
    """SIGKILL the server at even steps of the traffic, and start it again."""
    killed = 0
    for step in range(1, kills + 1):
        target = total * step // (kills + 1)
        while tally.sent < target and not done.is_set():
            time.sleep(0.05)
        if done.is_set():
            break
        server.kill()
        killed += 1
        log(f"  SIGKILL {killed} after {tally.sent} messages sent; restarting")
        server.start()
    return killed


# -- one backend ---------------------------------------------------------------------------------


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'durability.sqlite3'}"
        return
    import sqlalchemy

    base = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", POSTGRES_URL)
    name = f"supportbot_durability_{os.getpid()}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sqlalchemy.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(tmp: Path, database_url: str, agents_n: int) -> list[str]:
    """The index, the schema and the agents; returns the agents' e-mail addresses."""
    from bot import agents
    from bot.db import Database, create_schema
    from ingest.embed import HashEmbedder
    from ingest.pipeline import IngestOptions, ingest

    ingest(IngestOptions(kb_dir=ROOT / "kb_docs", index_dir=tmp / "index"), HashEmbedder(64))
    db = Database(database_url)
    create_schema(db.engine)
    emails = [f"agent{i}@durability.example" for i in range(agents_n)]
    with db.session() as session:
        for i, email in enumerate(emails):
            agents.create_agent(session=session, email=email, name=f"Agent {i}", password=PASSWORD)
    db.dispose()
    return emails


def measure(database_url: str, tally: Tally, tag: str) -> dict[str, int]:
    from sqlalchemy import select

    from bot.db import Database
    from bot.models import Message

    db = Database(database_url)
    with db.reading() as session:
        rows = session.execute(
            select(
                Message.conversation_id, Message.seq, Message.role, Message.client_id, Message.text
            )
        ).all()
    db.dispose()
    visitor_rows = Counter(r.client_id for r in rows if r.role == "visitor" and r.client_id)
    agent_rows = Counter(r.text for r in rows if r.role == "agent" and r.text.startswith(tag))
    seqs: dict[str, list[int]] = {}
    for r in rows:
        seqs.setdefault(r.conversation_id, []).append(r.seq)
    gaps = sum(sorted(s) != list(range(1, len(s) + 1)) for s in seqs.values())
    acknowledged = tally.acknowledged_visitor + tally.acknowledged_agent
    lost = sum(visitor_rows[c] == 0 for c in tally.acknowledged_visitor) + sum(
        agent_rows[t] == 0 for t in tally.acknowledged_agent
    )
    duplicated = sum(n - 1 for n in visitor_rows.values() if n > 1) + sum(
        n - 1 for n in agent_rows.values() if n > 1
    )
    return {
        "sent": tally.sent,
        "acknowledged": len(acknowledged),
        "acknowledged_visitor": len(tally.acknowledged_visitor),
        "acknowledged_agent": len(tally.acknowledged_agent),
        "unacknowledged_agent": tally.unacknowledged_agent,
        "stored": sum(visitor_rows[c] for c in set(tally.acknowledged_visitor))
        + sum(agent_rows[t] for t in set(tally.acknowledged_agent)),
        "stored_unacknowledged_agent": sum(agent_rows.values())
        - sum(agent_rows[t] for t in set(tally.acknowledged_agent)),
        "lost": lost,
        "duplicated": duplicated,
        "server_errors_500": tally.server_errors,
        "sequence_gaps": gaps,
        "retries": tally.retries,
    }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"{backend}: preparing")
    with tempfile.TemporaryDirectory(prefix="durability-") as folder:
        tmp = Path(folder)
        with database(backend, tmp) as database_url:
            emails = prepare(tmp, database_url, args.agents)
            server = Server(tmp, database_url)
            server.start()
            try:
                return traffic(server, database_url, emails, args, backend)
            finally:
                server.stop()


def traffic(
    server: Server, database_url: str, emails: list[str], args: argparse.Namespace, backend: str
) -> dict[str, Any]:
    tag = f"dur{os.getpid()}"
    conversations = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for i in range(args.visitors):
            created = http.post("/api/v1/conversations", json={"locale": "en"})
            created.raise_for_status()
            conversations.append(created.json())
            if i % 2 == 0:
                http.post(
                    f"/api/v1/conversations/{created.json()['id']}/handoff",
                    headers={"Authorization": f"Bearer {created.json()['token']}"},
                ).raise_for_status()
    handed = [c["id"] for i, c in enumerate(conversations) if i % 2 == 0]
    logins = [agent_login(server, email) for email in emails]
    # Each handed-off conversation is claimed by one agent, who replies into it.
    mine: list[list[str]] = [handed[i :: len(logins)] for i in range(len(logins))]
    for (http, csrf), own in zip(logins, mine, strict=True):
        for conversation_id in own:
            claimed = http.post(
                f"/console/conversations/{conversation_id}/claim", data={"csrf_token": csrf}
            )
            if claimed.status_code != 303:
                raise RuntimeError(f"claim: {claimed.status_code} {claimed.text[:200]}")

    tally = Tally()
    total = args.visitors * args.per_visitor + len(logins) * args.per_agent
    log(
        f"{backend}: {total} messages, {args.visitors} visitors, {len(logins)} agents, "
        f"{args.kills} kills"
    )
    done = threading.Event()
    started = time.monotonic()
    with ThreadPoolExecutor(args.visitors + len(logins) + 1) as pool:
        kills = pool.submit(killer, server, tally, total, args.kills, done)
        jobs = [
            pool.submit(visitor, server, c, args.per_visitor, tally, tag) for c in conversations
        ]
        jobs += [
            pool.submit(agent, server, login, own, args.per_agent, tally, f"{tag}-agent{i}")
            for i, (login, own) in enumerate(zip(logins, mine, strict=True))
            if own
        ]
        for job in jobs:
            job.result()
        done.set()
        killed = kills.result()
    seconds = time.monotonic() - started
    server.stop()
    figures = measure(database_url, tally, tag)
    return {"backend": backend, "kills": killed, "seconds": round(seconds, 1), **figures}


def table(results: list[dict[str, Any]]) -> str:
    columns = [
        "backend",
        "sent",
        "kills",
        "acknowledged",
        "stored",
        "lost",
        "duplicated",
        "server_errors_500",
        "sequence_gaps",
        "unacknowledged_agent",
        "seconds",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--per-visitor", type=int, default=110)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--per-agent", type=int, default=80)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.database_url, args.port)
        return 0
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = [run_backend(backend, args) for backend in backends]
    print(table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    bad = any(
        r["lost"] or r["duplicated"] or r["server_errors_500"] or r["sequence_gaps"]
        for r in results
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
