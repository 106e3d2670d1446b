"""How a run is asked to stop: a token that signal handlers and callbacks set."""

from __future__ import annotations

import threading

from vidcolor.errors import Cancelled


class CancelToken:
    """A thread-safe stop request: signal handlers and callbacks set it, the run checks it.

    Attributes:
        signum: the signal that asked to stop (``signal.SIGINT``/``SIGTERM``), if any.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled", signum: int | None = None) -> None:
        """Ask the run to stop at the next frame."""
        self.reason = reason
        self.signum = signum
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`~vidcolor.errors.Cancelled` if a stop was requested."""
        if self._event.is_set():
            raise Cancelled(self.reason)
