"""Where what people say or type is understood and carried out: one thread, one at a time.

Speech (the final text of an utterance) and the phones' text box both come here, so that the
same words do the same thing whichever way they arrive. Understanding may take a moment (the
sentence model, the local language model's time limit), so it runs on a thread of its own,
never on the event loop and never on the audio path; the queue is bounded, and what is said
while it is full is refused with a reason. Each utterance gets a reply, in the user's language,
through the ``tell`` given with it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from appliance.events import Event, Reply
from appliance.understand.intents import Understanding

log = logging.getLogger(__name__)

LIMIT = 32  # utterances waiting at most
PER_SOURCE = 3  # of them from one phone: a flooding phone cannot hold up the others

Understand = Callable[[str, str | None], Understanding]
Act = Callable[[Understanding, str, str | None, str], str | None]  # (…, who, source, via)
Remember = Callable[[Understanding, str], None]  # (what was understood, who)
Answer = Callable[[Understanding, str], str]
# what else the box knows about who said it (their face: "like this") → the understanding
Context = Callable[[Understanding, str | None], Understanding]
Tell = Callable[[Event], None]


@dataclass(frozen=True)
class Said:
    text: str
    language: str | None
    who: str
    source: str | None
    tell: Tell
    via: str = "text"  # speech or text


class Desk:
    def __init__(
        self,
        understand: Understand,
        act: Act,
        answer: Answer,
        limit: int = LIMIT,
        context: Context | None = None,
        remember: Remember | None = None,
    ):
        self.understand = understand
        self.context = context
        self.act = act  # queues the commands; None, or why they were refused
        self.remember = remember  # the box's memory of what was said (and understood)
        self.answer = answer  # the reply in plain words, in a language
        self._said: queue.Queue[Said | None] = queue.Queue(limit)
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._waiting: dict[str, int] = {}  # per phone (throttling key)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="understanding", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self._said.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout=3.0)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def submit(
        self,
        text: str,
        language: str | None,
        who: str,
        source: str | None,
        tell: Tell,
        via: str = "text",
    ) -> str | None:
        """Queue ``text`` to be understood and carried out; None, or why it was refused.
        ``via``: speech or text. Never blocks."""
        text = " ".join(text.split())[:500]
        if not text:
            return "nothing was said"
        said = Said(text, language or None, who, source, tell, via)
        with self._idle:
            if source is not None and self._waiting.get(source, 0) >= PER_SOURCE:
                return "too much at once: wait for the answer, then say it again"
            self._pending += 1
            if source is not None:
                self._waiting[source] = self._waiting.get(source, 0) + 1
        try:
            self._said.put_nowait(said)
        except queue.Full:
            self._done(said)
            return "too much at once: say it again in a moment"
        return None

    def _work(self) -> None:
        while (said := self._said.get()) is not None:
            try:
                self._handle(said)
            except Exception:  # never lost: the user hears that it failed
                log.exception("understanding %r failed", said.text)
                said.tell(
                    Reply("Sorry, something went wrong — please say it again.", said.text, False)
                )
            finally:
                self._done(said)

    def _handle(self, said: Said) -> None:
        understanding = self.understand(said.text, said.language)
        if self.context is not None:
            understanding = self.context(understanding, said.source)
        if self.remember is not None:
            self.remember(understanding, said.who)
        language = said.language or understanding.language or "en"
        refusal = (
            self.act(understanding, said.who, said.source, said.via)
            if understanding.understood
            else None
        )
        if refusal is not None:
            said.tell(Reply(refusal, said.text, False))
            return
        said.tell(Reply(self.answer(understanding, language), said.text, understanding.understood))

    def _done(self, said: Said) -> None:
        with self._idle:
            self._pending -= 1
            if said.source is not None:
                left = self._waiting.get(said.source, 1) - 1
                if left > 0:
                    self._waiting[said.source] = left
                else:
                    self._waiting.pop(said.source, None)
            self._idle.notify_all()
