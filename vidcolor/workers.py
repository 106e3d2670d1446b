r"""Worker threads joined to the caller by bounded queues (VapourSynth-style prefetch).

Two shapes, one set of rules:

* :class:`BoundedPrefetch` runs an iterable (a decoder) in a worker thread and hands its
  items to the caller in order. The worker blocks when ``maxsize`` items wait, so memory
  is bounded and nothing is ever dropped.
* :class:`BoundedSink` runs a consumer function (an encoder) in a worker thread; the caller
  ``put`` items and blocks when ``maxsize`` items wait.

In both, an exception raised in the worker travels through the queue and is re-raised in
the caller's thread (at the next ``next``/``put``/``close``), with the worker's traceback
chained. ``close()`` stops the worker, lets the iterable's ``finally`` blocks run (so a
decoder closes its container) and joins the thread. Both are context managers.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.05


class _End:
    """Marks the end of the stream in a queue."""


class _Failure:
    """Carries a worker's exception through a queue."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def _put_until_stopped(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item``, waiting for room; False if ``stop`` was set meanwhile."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _produce(iterable: Iterable, q: queue.Queue, stop: threading.Event) -> None:
    """The prefetch worker loop.

    It holds no reference to its BoundedPrefetch, so an abandoned prefetcher is
    garbage-collected, which sets ``stop`` and ends this thread.
    """
    iterator = iter(iterable)
    try:
        for item in iterator:
            if not _put_until_stopped(q, item, stop):
                break
        else:
            _put_until_stopped(q, _End(), stop)
    except BaseException as exc:  # noqa: BLE001 - travels to the caller's thread
        _put_until_stopped(q, _Failure(exc), stop)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


class BoundedPrefetch(Generic[T]):
    """Iterate over ``iterable`` in a worker thread, at most ``maxsize`` items ahead.

    Args:
        iterable: what to run in the worker, e.g. ``iter_luma(path)``. Its ``close()`` (if
            it has one, as generators do) is called in the worker when iteration stops
            early, so its ``finally`` blocks run there.
        maxsize: the most items the worker may have produced but the caller not taken.
        name: thread name, for debugging.

    Stopping early: call ``close()`` or use ``with``; an abandoned prefetcher also stops
    its worker when it is garbage-collected.

    Example:
        >>> with BoundedPrefetch(range(5), maxsize=2) as items:
        ...     list(items)
        [0, 1, 2, 3, 4]
    """

    def __init__(self, iterable: Iterable[T], maxsize: int = 8, *, name: str = "vidcolor-prefetch"):
        if maxsize < 1:
            raise ValueError(f"maxsize: found {maxsize}, expected >= 1")
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=_produce, args=(iterable, self._queue, self._stop), name=name, daemon=True
        )
        weakref.finalize(self, self._stop.set)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._done = True
                    raise StopIteration from None
        if isinstance(item, _End):
            self._done = True
            self._thread.join()
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            self._thread.join()
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the worker, run the iterable's cleanup and join the thread. Idempotent."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room so a blocked put notices the stop flag
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=_POLL_S)

    def __enter__(self) -> BoundedPrefetch[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class BoundedSink(Generic[T]):
    """Feed items to ``consume`` in a worker thread through a queue of ``maxsize``.

    Args:
        consume: called in the worker once per item, in order (e.g. ``writer.write``).
        maxsize: the most items the caller may have put but the worker not consumed.
        name: thread name, for debugging.

    ``put`` blocks while the queue is full. If ``consume`` raises, the worker stops, drops
    what is queued, and the exception is re-raised in the caller at its next ``put`` or at
    ``close``. ``close()`` waits until every item is consumed. Leaving the ``with`` block
    by an exception abandons the queued items instead of consuming them.
    """

    def __init__(
        self, consume: Callable[[T], object], maxsize: int = 8, *, name: str = "vidcolor-sink"
    ):
        if maxsize < 1:
            raise ValueError(f"maxsize: found {maxsize}, expected >= 1")
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._error: BaseException | None = None
        self._abandon = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _End) or self._abandon.is_set():
                return
            try:
                self._consume(item)
            except BaseException as exc:  # noqa: BLE001 - travels to the caller's thread
                self._error = exc
                return

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: T) -> None:
        """Queue ``item`` for the worker, blocking while the queue is full.

        Raises:
            Whatever ``consume`` raised in the worker, if it did.
        """
        if self._closed:
            raise RuntimeError("put on a closed BoundedSink")
        while True:
            self._raise_if_failed()
            if not self._thread.is_alive():
                raise RuntimeError("the BoundedSink worker has stopped")
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def close(self, *, abandon: bool = False) -> None:
        """Wait for the worker to consume everything queued (or drop it) and join it.

        Args:
            abandon: drop queued items instead of consuming them (used on errors).

        Raises:
            Whatever ``consume`` raised in the worker, if it did and it was not raised yet.
        """
        if self._closed:
            self._raise_if_failed()
            return
        self._closed = True
        if abandon:
            self._abandon.set()
        while self._thread.is_alive():
            try:
                self._queue.put(_End(), timeout=_POLL_S)
                break
            except queue.Full:
                if abandon:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        pass
        self._thread.join()
        self._raise_if_failed()

    def __enter__(self) -> BoundedSink[T]:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            try:
                self.close(abandon=True)
            except BaseException:  # noqa: BLE001 - the first exception is the one to report
                pass
        else:
            self.close()
