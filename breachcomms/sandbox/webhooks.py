"""Posts signed webhooks back to the app from background threads, never from a send request.

A scheduler thread keeps every future payload in a heap by due time. SendGrid events that are due are
collected into batches (by size or age, like SendGrid's own batching); Twilio callbacks go out one by one.
Sender threads post them; a failed post (non-2xx or no answer) is scheduled again with backoff until
``retry_for`` has passed. Duplicates and reordering are made here, when configured.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from breachcomms.sandbox import http_post
from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.events import Step, email_steps, sms_steps
from breachcomms.sandbox.http_post import Pool
from breachcomms.sandbox.signing import TWILIO_SIGNATURE_HEADER, EventSigner, twilio_signature
from breachcomms.sandbox.stats import Stats
from breachcomms.sandbox.store import EmailRecord, SmsRecord

logger = logging.getLogger(__name__)
POST_TIMEOUT = 10.0
_FORM_SAFE = re.compile(r"[A-Za-z0-9_.\-]*")
MAX_BACKOFF = 30.0


@dataclass
class Post:
    """One HTTP POST to make (again, after a failure)."""

    kind: str  # "sendgrid" or "twilio"
    url: str
    body: bytes
    params: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    first_try: float = 0.0
    then: Post | None = None  # the message's next callback, posted once this one is done


class WebhookPoster:
    def __init__(self, config: SandboxConfig, signer: EventSigner, stats: Stats, rng: random.Random) -> None:
        self.config, self.signer, self.stats, self.rng = config, signer, stats, rng
        self.cv = threading.Condition()
        self.heap: list[tuple[float, int, Any]] = []
        self.seq = itertools.count()
        self.pending: list[str] = []  # due SendGrid events (JSON) waiting for their batch
        self.pending_since = 0.0
        self.posts: queue.Queue[Post | None] = queue.Queue()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.smtp_host = f"ismtpd-sandbox-{rng.randrange(16**4):04x}"
        self.failing: set[str] = set()  # URLs whose last post failed, so a failure streak is logged once
        self.outstanding = 0  # posts queued or being posted

    def start(self, senders: int = 4) -> None:
        self.threads = [threading.Thread(target=self._schedule, name="webhook-scheduler", daemon=True)]
        self.threads += [
            threading.Thread(target=self._send, name=f"webhook-sender-{n}", daemon=True) for n in range(senders)
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with self.cv:
            self.cv.notify_all()
        for _ in self.threads:
            self.posts.put(None)
        for thread in self.threads:
            thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every webhook not yet posted."""
        with self.cv:
            self.heap.clear()
            self.pending.clear()
        while True:
            try:
                self.posts.get_nowait()
            except queue.Empty:
                break
            with self.cv:
                self.outstanding -= 1

    def backlog(self) -> int:
        """Webhooks not yet answered: scheduled, waiting for their batch, queued or being posted."""
        with self.cv:
            return len(self.heap) + len(self.pending) + self.outstanding

    # --- what the send endpoints call (cheap: one heap push) ---

    def email_accepted(self, x_message_id: str, categories: Sequence[str], records: Sequence[EmailRecord]) -> None:
        hooks = self.config.webhooks
        if hooks.enabled and hooks.sendgrid_url:
            self._push(time.time(), ("expand", lambda: email_steps_all(self, x_message_id, categories, records)))

    def sms_accepted(self, record: SmsRecord) -> None:
        hooks = self.config.webhooks
        if hooks.enabled and hooks.twilio_callbacks and record.status_callback:
            sid = self.config.twilio_account_sid
            if hooks.delay[1] or hooks.duplicate_rate or hooks.reorder_rate:
                self._push(time.time(), ("expand", lambda: sms_callbacks(self, record, sid)))
                return
            # Nothing to space out or disorder: the message's callbacks go to a sender as one chain.
            posts = [_callback(record, step, time.time()) for step in sms_steps(record, sid)]
            for earlier, later in itertools.pairwise(posts):
                earlier.then = later
            self._enqueue(posts[0])

    def _push(self, due: float, item: Any) -> None:
        with self.cv:
            heapq.heappush(self.heap, (due, next(self.seq), item))
            self.cv.notify()

    # --- scheduler thread ---

    def schedule_steps(self, steps: Sequence[Step], deliver: Callable[[Step, float], Any]) -> None:
        """Space a message's steps by the configured delay; copy and hold back some when configured."""
        hooks, now, rng = self.config.webhooks, time.time(), self.rng
        low, high = hooks.delay
        if not high and not hooks.duplicate_rate and not hooks.reorder_rate:
            for step in steps:  # everything is due now, in order: skip the heap
                self._handle(deliver(step, now))
            return
        due, last_index = now, -1
        with self.cv:
            for step in steps:
                if step.index <= last_index:
                    due = now  # the next address of the same personalization starts again
                due += rng.uniform(low, high) if step.index > 0 and high > 0 else 0.0
                last_index = step.index
                copies = rng.randint(2, hooks.max_copies) if rng.random() < hooks.duplicate_rate else 1
                for copy in range(copies):
                    at = due
                    if copy or rng.random() < hooks.reorder_rate:
                        at += rng.uniform(hooks.batch_interval, 3 * hooks.batch_interval)
                    item = deliver(step, at)
                    heapq.heappush(self.heap, (at, next(self.seq), item))
            self.cv.notify()

    def _schedule(self) -> None:
        while not self.stopping.is_set():
            due_items = self._take_due()
            for item in due_items:
                self._handle(item)
            self._flush_sendgrid()

    def _take_due(self) -> list[Any]:
        with self.cv:
            now = time.time()
            if not self.heap or self.heap[0][0] > now:
                wait = self.heap[0][0] - now if self.heap else 0.5
                if self.pending:
                    wait = min(wait, self.pending_since + self.config.webhooks.batch_interval - now)
                self.cv.wait(timeout=max(0.001, min(wait, 0.5)))
                now = time.time()
            items: list[Any] = []
            while self.heap and self.heap[0][0] <= now and len(items) < 20_000:
                items.append(heapq.heappop(self.heap)[2])
            return items

    def _handle(self, item: Any) -> None:
        kind, value = item
        if kind == "expand":
            value()
        elif kind == "chained":
            pass  # posted when the callback before it is done
        elif kind == "event":
            step, at = value
            with self.cv:
                if not self.pending:
                    self.pending_since = time.time()
                self.pending.append(f"{step.payload}{int(at)}}}")
        else:  # a Post to (re)try
            self._enqueue(value)

    def _flush_sendgrid(self) -> None:
        hooks = self.config.webhooks
        with self.cv:
            full = len(self.pending) >= hooks.batch_size
            if not self.pending or not (full or time.time() - self.pending_since >= hooks.batch_interval):
                return
            events, self.pending = self.pending, []
        if hooks.reorder_rate:
            self.rng.shuffle(events)
        for start in range(0, len(events), hooks.batch_size):
            chunk = events[start : start + hooks.batch_size]
            body = f"[{','.join(chunk)}]".encode()
            self.stats.add("webhook_events_queued", len(chunk))
            self._enqueue(Post("sendgrid", hooks.sendgrid_url, body, first_try=time.time()))

    # --- sender threads ---

    def _enqueue(self, post: Post) -> None:
        with self.cv:
            self.outstanding += 1
        self.posts.put(post)

    def _send(self) -> None:
        connections: Pool = {}
        while (post := self.posts.get()) is not None:
            try:
                while post is not None:  # a chain's next callback goes out at once from the same thread
                    post = self._attempt(connections, post)
            finally:
                with self.cv:
                    self.outstanding -= 1

    def _attempt(self, connections: Pool, post: Post) -> Post | None:
        """Post once; returns the chained post due next, if any."""
        post.attempts += 1
        try:
            status = http_post.post(connections, post.url, post.body, self._headers(post), POST_TIMEOUT)
        except (OSError, ValueError) as exc:
            status, error = 0, f"{type(exc).__name__}: {exc}"
        else:
            error = f"HTTP {status}"
        if 200 <= status < 300:
            return self._succeeded(post)
        return self._failed(post, error)

    def _headers(self, post: Post) -> dict[str, str]:
        if post.kind == "sendgrid":
            # Signed when sent, so a retried batch carries a fresh timestamp.
            headers = self.signer.headers(post.body, int(time.time()))
            headers["Content-Type"] = "application/json"
        else:
            signature = twilio_signature(self.config.twilio_auth_token, post.url, post.params)
            headers = {TWILIO_SIGNATURE_HEADER: signature, "Content-Type": "application/x-www-form-urlencoded"}
        headers["User-Agent"] = "breachcomms-provider-sandbox"
        return headers

    def _done(self, post: Post) -> Post | None:
        """The chained post, if it is due now; a later one is scheduled."""
        follower = post.then
        if follower is None or follower.first_try <= time.time():
            return follower
        self._push(follower.first_try, ("post", follower))
        return None

    def _succeeded(self, post: Post) -> Post | None:
        self.stats.add(f"{post.kind}_webhooks_posted")
        if post.kind == "sendgrid":
            self.stats.add("webhook_events_posted", post.body.count(b'"sg_event_id"'))
        endpoint = _endpoint(post.url)
        if endpoint in self.failing:
            self.failing.discard(endpoint)
            logger.info("webhooks to %s are accepted again", endpoint)
        return self._done(post)

    def _failed(self, post: Post, error: str) -> Post | None:
        self.stats.add(f"{post.kind}_webhook_failures")
        endpoint = _endpoint(post.url)
        if endpoint not in self.failing:
            self.failing.add(endpoint)
            logger.warning("webhooks to %s fail (%s); retrying each with backoff", endpoint, error)
        if time.time() - post.first_try >= self.config.webhooks.retry_for:
            self.stats.add(f"{post.kind}_webhooks_abandoned")
            logger.warning("webhook to %s abandoned after %d attempts (%s)", post.url, post.attempts, error)
            return self._done(post)
        backoff = min(MAX_BACKOFF, 0.25 * 2 ** min(post.attempts, 10)) * self.rng.uniform(0.8, 1.2)
        self._push(time.time() + backoff, ("post", post))
        return None


def email_steps_all(
    poster: WebhookPoster, x_message_id: str, categories: Sequence[str], records: Sequence[EmailRecord]
) -> None:
    encoded_categories = json.dumps(list(categories)) if categories else ""
    for record in records:
        steps = list(email_steps(record, x_message_id, encoded_categories, poster.smtp_host))
        poster.schedule_steps(steps, lambda step, at: ("event", (step, at)))
    poster.stats.add("email_events_generated", sum(len(r.others) + 1 for r in records))


def sms_callbacks(poster: WebhookPoster, record: SmsRecord, account_sid: str) -> None:
    """Schedule a message's status callbacks; unless reordering is asked for, each waits for the one before."""
    steps = list(sms_steps(record, account_sid))
    in_order = not poster.config.webhooks.reorder_rate
    previous: list[Post] = []

    def deliver(step: Step, at: float) -> tuple[str, Post]:
        post = _callback(record, step, at)
        if in_order and previous and step.index > 0 and previous[-1].then is None:
            previous[-1].then = post
            previous.append(post)
            return "chained", post
        previous.append(post)
        return "post", post

    poster.schedule_steps(steps, deliver)


def _callback(record: SmsRecord, step: Step, at: float) -> Post:
    params = [(name, str(value)) for name, value in step.payload.items()]
    body = "&".join(f"{name}={_form_value(value)}" for name, value in params)
    return Post("twilio", record.status_callback, body.encode(), params=params, first_try=at)


def _form_value(value: str) -> str:
    # Most values (SIDs, statuses) need no escaping; quote_plus costs ten times the check.
    return value if _FORM_SAFE.fullmatch(value) else quote_plus(value)


def _endpoint(url: str) -> str:
    """The URL without its query: failures are logged per endpoint, not per message."""
    return url.split("?", 1)[0]
