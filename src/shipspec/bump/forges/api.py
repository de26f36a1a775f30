"""A forge's HTTP API: JSON requests with the token in a header, pages followed, rate limits
waited out. The standard library's urllib is enough for the handful of calls a bump makes.

The token is sent only to the API's own origin: links to follow (pagination) and redirects
that lead elsewhere are refused, never fetched with it; no message that leaves this module
holds it.
"""

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from shipspec import __version__
from shipspec.bump.git import Credentials
from shipspec.errors import RuntimeFailure, note

# A wait longer than this for a rate limit fails the bump instead: CI jobs have time limits
# of their own, and a retry later is cheaper than a job that hangs.
LONGEST_WAIT = 120.0
_SERVER_ERROR_RETRIES = 3
_TIMEOUT = 30.0


class Answer(NamedTuple):
    status: int
    headers: Message
    data: Any  # the decoded JSON body; None when there is none


class _NotAnswered(Exception):
    """A request that got no answer: `reason`, urllib's."""

    def __init__(self, reason: object) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def unreached(self) -> bool:
        """Whether the request never left: the name did not resolve, or the connection was
        refused."""
        return isinstance(self.reason, (socket.gaierror, ConnectionRefusedError))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect with the Authorization header, to any host.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Api:
    """One forge API at `base`, authenticated with `credentials`' token."""

    def __init__(self, base: str, credentials: Credentials, headers: dict[str, str],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base = base.rstrip("/")
        self.origin = _origin(self.base)
        self.credentials = credentials
        # bump() refuses a pull request without the token before anything is pushed
        self.headers = {"User-Agent": f"shipspec/{__version__}", **headers,
                        "Authorization": f"Bearer {credentials.token}"}
        self.sleep = sleep
        self.opener = urllib.request.build_opener(_NoRedirects())

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             query: dict[str, str] | None = None, accept: str | None = None) -> Answer:
        """`method` on `path` (below the base, or a whole URL of the same origin); a status
        other than 2xx fails with the forge's own message. Rate limits are waited out (up
        to LONGEST_WAIT in all) without counting as attempts. `accept` replaces the
        Accept header of this one request."""
        url = path if "://" in path else self.base + path
        if query:
            url += "?" + urlencode(query)
        if _origin(url) != self.origin:
            raise RuntimeFailure(f"error: {self.base} pointed to {_origin(url)}, another site; "
                                 "refusing to send the token there")
        data = None if body is None else json.dumps(body).encode()
        waited, failures = 0.0, 0
        while True:
            try:
                answer = self._send(method, url, data, accept)
            except _NotAnswered as failed:
                # As for a server error below; a POST too when it never left (git's
                # transient failures are handled alike: git.py, _UNREACHED).
                again = failed.unreached or method != "POST"
                reason = self.credentials.redact(str(failed.reason))
                if again and failures < _SERVER_ERROR_RETRIES:
                    failures += 1
                    self._again(method, url, reason, 0.5 * 2 ** failures)
                    continue
                raise RuntimeFailure(
                    f"error: cannot reach {self.base}: {reason}\n  hint: " + (
                        f"asked {failures + 1} times; rerun the job once it answers" if again
                        else "the connection broke off, and the forge may have carried out "
                             "the request: rerun the job, which carries on from what is "
                             "there")) from None
            pause = _rate_limit_pause(answer)
            if pause is not None:
                if waited + pause > LONGEST_WAIT:
                    raise RuntimeFailure(
                        f"error: {self.base} is rate limiting us for {pause:.0f} s more\n"
                        "  hint: retry the job later; many jobs sharing one token share its "
                        "limit")
                note(f"note: {self.base} is rate limiting us: waiting {pause:.0f} s")
                self.sleep(pause)
                waited += pause
                continue
            # A POST that failed on the server may still have been carried out: only the
            # idempotent methods are sent again.
            if answer.status >= 500 and method != "POST" and failures < _SERVER_ERROR_RETRIES:
                failures += 1
                self._again(method, url, f"answered {answer.status}", 0.5 * 2 ** failures)
                continue
            if 200 <= answer.status < 300:
                return answer
            raise self._failure(method, url, answer)

    def _again(self, method: str, url: str, failure: str, pause: float) -> None:
        note(f"note: {method} {url.partition('?')[0]} failed ({failure}); asking again in "
             f"{pause:.1f} s")
        self.sleep(pause)

    def pages(self, path: str, query: dict[str, str]) -> Iterator[Any]:
        """Every item of a listed collection, following the `Link: <...>; rel="next"`
        headers (GitHub's pagination) for as long as they lead on."""
        answer = self.call("GET", path, query=query)
        while True:
            yield from answer.data
            following = _next_link(answer.headers.get("Link", ""))
            if following is None:
                return
            answer = self.call("GET", following)

    def _send(self, method: str, url: str, data: bytes | None, accept: str | None) -> Answer:
        # only http(s): the base is the spec's checked API URL, and call() keeps its origin
        request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310
            **self.headers, **({"Accept": accept} if accept else {}),
            **({"Content-Type": "application/json"} if data else {})})
        try:
            with self.opener.open(request, timeout=_TIMEOUT) as response:
                return Answer(response.status, response.headers, _json(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, _json(error.read()))
        except (urllib.error.URLError, OSError) as error:
            raise _NotAnswered(getattr(error, "reason", error)) from None
        except ValueError as error:  # a header value or URL urllib refuses
            raise RuntimeFailure(f"error: cannot reach {self.base}: "
                                 f"{self.credentials.redact(str(error))}") from None

    def _failure(self, method: str, url: str, answer: Answer) -> RuntimeFailure:
        details = [str(e.get("message") or e.get("code") or "") for e in
                   (answer.data.get("errors") or [] if isinstance(answer.data, dict) else [])
                   if isinstance(e, dict)]
        hint = _HINTS.get(answer.status) or (_SERVER_FAILED if answer.status >= 500 else "")
        text = "; ".join(filter(None, [_said(answer), *details])) or "no reason given"
        return RuntimeFailure(
            f"error: {method} {url.partition('?')[0]} answered {answer.status}: "
            f"{self.credentials.redact(text)}" + (f"\n  hint: {hint}" if hint else ""))


_HINTS = {401: "is the token valid and not expired?",
          403: "may the token write pull requests (pull-requests: write)?",
          404: "does the repository exist, and may the token see it?",
          301: "the repository moved: set deploy.forge.repository to its new name"}
_SERVER_FAILED = "the forge failed; a rerun of the job carries on from the branch already pushed"


def _said(answer: Answer) -> str:
    """The forge's own message in an answer: GitHub's JSON says it as `message`."""
    return str(answer.data.get("message", "")) if isinstance(answer.data, dict) else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data.strip() else None
    except ValueError:
        return None  # an HTML error page from a proxy: the status says enough


def _next_link(header: str) -> str | None:
    for link in header.split(","):
        target, _, parameters = link.partition(";")
        if 'rel="next"' in parameters.replace(" ", ""):
            return target.strip().removeprefix("<").removesuffix(">")
    return None


def _rate_limit_pause(answer: Answer) -> float | None:
    """Seconds to wait before asking again, when the answer is a rate limit; else None.

    GitHub's documented rules ("Rate limits for the REST API", "Exceeding the rate limit"):
    403 or 429; `retry-after` gives the seconds to wait; else `x-ratelimit-remaining: 0`
    means waiting until `x-ratelimit-reset` (epoch seconds); else a secondary limit
    without either header, for which at least a minute is advised."""
    if answer.status not in (403, 429):
        return None
    retry_after = answer.headers.get("Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    if answer.headers.get("X-RateLimit-Remaining") == "0":
        reset = answer.headers.get("X-RateLimit-Reset", "")
        return max(0.0, float(reset) - time.time()) + 1 if reset.isdigit() else 60.0
    return 60.0 if "rate limit" in _said(answer).lower() else None
