"""Real git servers for tests on 127.0.0.1: `git http-backend` behind HTTP basic auth, and
OpenSSH's sshd."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple


def add_pull_request_refs(bare: Path, pull_requests: int) -> None:
    """The two refs GitHub keeps for each pull request (refs/pull/<n>/head and merge), at
    the tip of main, packed. GitHub lists them to fetches (`git fetch origin pull/1/head`)
    but hides them from pushes: its docs ("Checking out pull requests locally",
    github/docs) show a push to refs/pull/1/head refused with "deny updating a hidden ref",
    the words of git's receive-pack for a ref that receive.hideRefs hides."""
    git = ["git", "--git-dir", str(bare)]
    tip = subprocess.run([*git, "rev-parse", "main"], check=True, capture_output=True,
                         text=True).stdout.strip()
    updates = "".join(f"create refs/pull/{number}/{ref} {tip}\n"
                      for number in range(1, pull_requests + 1) for ref in ("head", "merge"))
    subprocess.run([*git, "update-ref", "--stdin"], input=updates, text=True, check=True)
    subprocess.run([*git, "pack-refs", "--all"], check=True)
    subprocess.run([*git, "config", "receive.hideRefs", "refs/pull"], check=True)


STALL = 10.0


class Fault(NamedTuple):
    """How the server answers the next request of `method` whose path ends with `path_end`
    (`info/refs`, the first request of every git command; `git-upload-pack`, a fetch's
    exchange; `git-receive-pack`, a push's), once, as a flaky forge or its load balancer
    does: "502", a gateway's error page, the repository untouched; "502 after", the request
    carried out, then answered 502 (a push that landed, its answer lost); "drop", the
    connection closed without an answer; "stall", the connection kept open, nothing sent
    for STALL seconds, then closed; "pass", served as usual (a place in the order)."""

    method: str
    path_end: str
    answer: str


def make_handler(root: Path, user: str | None, password: str | None,
                 seen: list[str | None] | None = None,
                 delay: float = 0.0,
                 faults: list[Fault] | None = None) -> type[BaseHTTPRequestHandler]:
    """`user` None: anyone may read and push, as a server that wants to be sent whatever
    comes. `seen` gets the Authorization header of every request (None where it has none).
    `delay`: seconds before each request is served, as a distant server's round trip.
    `faults`: taken from the list in order as requests match them (see Fault)."""
    # The scheme is case-insensitive (RFC 9110, 11.1): actions/checkout and the generated
    # workflows send `basic`, as GitHub takes it.
    expected = (None if user is None else
                ("basic", base64.b64encode(f"{user}:{password}".encode()).decode()))
    lock = threading.Lock()

    def fault_for(method: str, path: str) -> str | None:
        if faults is None:
            return None
        with lock:
            for index, fault in enumerate(faults):
                if fault.method == method and path.endswith(fault.path_end):
                    del faults[index]
                    return fault.answer
        return None

    class GitHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            time.sleep(delay)
            if seen is not None:
                seen.append(self.headers.get("Authorization"))
            scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
            if expected is not None and (scheme.lower(), credentials) != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Transfer-Encoding") == "chunked":
                body = self._read_chunked()
            fault = fault_for(self.command, path)
            if fault == "stall":
                time.sleep(STALL)
            if fault in ("drop", "stall"):
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have given up already
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault == "502":
                self._bad_gateway()
                return
            env = {
                "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": user or "anonymous",
                "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                # As GitHub serves: protocol v2, which http-backend takes from the
                # Git-Protocol header (CGI passes it as HTTP_GIT_PROTOCOL; without it git
                # speaks v0, which refuses a fetch of a commit that no ref points at), and
                # partial-clone filters.
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "uploadpack.allowFilter",
                "GIT_CONFIG_VALUE_0": "true",
            }
            completed = subprocess.run(["git", "http-backend"], input=body, env=env,
                                       capture_output=True, check=False)
            head, _, payload = completed.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            if fault == "502 after":
                self._bad_gateway()
                return
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _bad_gateway(self) -> None:
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def _read_chunked(self) -> bytes:
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()

    return GitHandler


class PrivateCA(NamedTuple):
    certificate: str  # the CA's, PEM: what a client must be told to trust
    server_certificate: Path  # for 127.0.0.1, signed by the CA
    server_key: Path


def private_ca(directory: Path) -> PrivateCA:
    """A certificate authority of its own, as a company's that signs its GitHub Enterprise
    Server's certificate, and a certificate it signed for 127.0.0.1 (openssl)."""
    directory.mkdir(parents=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Test Corp CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san")
    return PrivateCA((directory / "ca.crt").read_text(), directory / "server.crt",
                     directory / "server.key")


@contextmanager
def git_http_server(root: Path, user: str | None, password: str | None,
                    seen: list[str | None] | None = None,
                    delay: float = 0.0, tls: PrivateCA | None = None,
                    faults: list[Fault] | None = None) -> Iterator[str]:
    """Serve the bare repositories below `root` (see make_handler); yields the base URL.
    `tls`: over HTTPS, with the certificate that CA signed."""
    with _serving(make_handler(root, user, password, seen, delay, faults), tls) as port:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@contextmanager
def redirecting_server(target: str) -> Iterator[str]:
    """A server that answers every request with a permanent redirect to the same path
    below `target`, as a forge does for a renamed repository; yields its base URL."""

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self.send_response(301)
            self.send_header("Location", f"{target}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    with _serving(Redirect) as port:
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler],
             tls: PrivateCA | None = None) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.server_certificate, tls.server_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class SshServer(NamedTuple):
    address: str  # host:port, as a Tekton ssh-auth Secret's annotation names it
    url: str  # the URL below which the bare repositories are served
    client_key: str  # the private key the server accepts
    known_hosts: str  # its host key, as a known_hosts line


@contextmanager
def git_ssh_server(root: Path, scratch: Path) -> Iterator[SshServer]:
    """OpenSSH's sshd on 127.0.0.1 serving the bare repositories below `root` to one key,
    as GitHub does: protocol v2 (git asks for it through GIT_PROTOCOL, which the server
    must accept) and partial-clone filters. Runs as root: the tests do."""
    scratch.mkdir(parents=True, exist_ok=True)
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key,
                        "-f", str(scratch / key)], check=True)
    (scratch / "authorized_keys").write_text((scratch / "client.pub").read_text())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (scratch / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {scratch / 'host'}\n"
        f"AuthorizedKeysFile {scratch / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPidFile none\nAcceptEnv GIT_PROTOCOL\n"
        "MaxStartups 100\n"  # bumps that race connect at once (the default drops the 11th)
        # a login's git reads no one's config but this: filters allowed, as GitHub does
        f"SetEnv GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL={scratch / 'gitconfig'}\n")
    (scratch / "gitconfig").write_text("[uploadpack]\n\tallowFilter = true\n"
                                       "[safe]\n\tdirectory = *\n")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(scratch / "sshd_config")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"sshd did not start: {server.communicate()[1]!r}") from None
                time.sleep(0.05)
        host_key = (scratch / "host.pub").read_text().split()[:2]
        yield SshServer(f"127.0.0.1:{port}", f"ssh://root@127.0.0.1:{port}{root}",
                        (scratch / "client").read_text(),
                        f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    finally:
        server.terminate()
        server.communicate()
