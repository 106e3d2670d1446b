"""Streaming decode: frames in presentation order, each with its exact timestamp.

Two iterators over the first video stream of a file:

* :func:`iter_luma` yields full-range gray images, optionally resized to a working size.
  It reads the Y plane directly (no colour conversion), so it costs little more than the
  decode itself. This is what analysis, flow and the network see.
* :func:`iter_video_frames` yields the Y plane exactly as the file stores it (limited or
  full range, at its own bit depth) for the encoder, which writes it back untouched.

Both close their container in ``finally`` and can run in a worker thread with a bounded
queue (``prefetch=N``, or wrap them in :class:`vidcolor.workers.BoundedPrefetch`).

A packet that fails to decode in the middle of a file does not abort the run: the frame
is filled with its nearest decoded neighbour (same timestamp slot, previous picture, or
the next one at the start of the file) and its index is recorded in a
:class:`DecodeReport` the caller passes in. With ``strict=True`` it raises
:class:`~vidcolor.errors.DecodeError` instead.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidcolor.errors import DecodeError
from vidcolor.frames import FrameTime
from vidcolor.io.probe import is_full_range, open_input, select_video_stream
from vidcolor.workers import BoundedPrefetch

# Pixel formats whose luma sits in the high bits of 16-bit words (P010, P016, P210 ...).
_MSB_PACKED = re.compile(r"^p[0-9]{3}(le|be)?$")


@dataclass
class DecodeReport:
    """What went wrong while decoding, filled in by the decode iterators.

    The caller creates one and passes it in; the iterator appends to it as it goes (the
    iterator's thread writes, read it after iteration ends).

    Attributes:
        filled: indices of frames whose packet failed to decode and which were filled
            with a neighbouring frame's picture.
        concealed: indices of frames the decoder flagged as corrupt but still produced
            (error concealment); they are passed on as decoded.
        dropped: failed packets whose timestamp could not be placed in the sequence
            (no pts, or earlier than a frame already emitted); nothing was emitted for them.
        missing: frames the container declares but that could not be read at all (a
            truncated file: the stream ends early); 0 when complete or not declared.
        messages: one human-readable line per problem, for warnings and the run report.
    """

    filled: list[int] = field(default_factory=list)
    concealed: list[int] = field(default_factory=list)
    dropped: int = 0
    missing: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Total number of frames that were filled, concealed, dropped or missing."""
        return len(self.filled) + len(self.concealed) + self.dropped + self.missing


@dataclass(frozen=True)
class VideoPlane:
    """One decoded frame's Y plane, as the encoder needs it.

    Attributes:
        y: ``(H, W)`` Y plane exactly as the file stores it: uint8 at 8 bits, uint16
            codes (LSB-aligned) at 9 to 16 bits; limited range (16..235 scaled by
            ``2**(bit_depth-8)``) or full range, see ``full_range``.
        full_range: whether ``y`` is full range.
        bit_depth: bits per sample of ``y``.
    """

    y: np.ndarray
    full_range: bool
    bit_depth: int = 8

    @property
    def gray(self) -> np.ndarray:
        """``(H, W)`` uint8 full-range (0..255) gray of this frame (the network's view)."""
        if self.bit_depth == 8:
            return self.y if self.full_range else luma_to_full_range(self.y, 8)
        return luma_lut(self.bit_depth, self.full_range)[self.y]

    @property
    def luma(self) -> np.ndarray:
        """``(H, W)`` float32 full-range luma in [0, 1] at the stored precision."""
        top = float((1 << self.bit_depth) - 1)
        y = self.y.astype(np.float32)
        if self.full_range:
            return y * (1.0 / top)
        scale = float(1 << (self.bit_depth - 8))
        return np.clip((y - 16.0 * scale) * (1.0 / (219.0 * scale)), 0.0, 1.0)


# ----------------------------------------------------------------------------- pure helpers


def luma_lut(bit_depth: int, full_range: bool) -> np.ndarray:
    """Lookup table from stored luma codes to full-range 8-bit gray.

    Args:
        bit_depth: bits per stored luma sample (8 to 16).
        full_range: whether the stored codes are full range.

    Returns:
        ``(2**bit_depth,)`` uint8 table: index a stored code, get 0..255 gray.
    """
    codes = np.arange(1 << bit_depth, dtype=np.float64)
    scale = float(1 << (bit_depth - 8))
    if full_range:
        gray = codes * 255.0 / ((1 << bit_depth) - 1)
    else:
        gray = (codes - 16.0 * scale) * 255.0 / (219.0 * scale)
    return np.clip(np.floor(gray + 0.5), 0, 255).astype(np.uint8)


def luma_to_full_range(y: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Limited-range luma codes to full-range 8-bit gray.

    Args:
        y: ``(H, W)`` uint8 (8-bit) or uint16 (deeper) limited-range codes
            (16..235 scaled by ``2**(bit_depth-8)``).
        bit_depth: bits per sample of ``y``.

    Returns:
        ``(H, W)`` uint8 gray in 0..255 (codes outside the nominal range are clipped).
    """
    if bit_depth == 8 and y.dtype == np.uint8:
        return cv2.LUT(y, luma_lut(8, False))
    return luma_lut(bit_depth, False)[y]


def resize_gray(gray: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize a gray image to ``size = (width, height)`` with area averaging.

    Args:
        gray: ``(H, W)`` uint8 (or uint16 codes).
        size: target ``(width, height)``, or None to return ``gray`` unchanged.

    Returns:
        ``(height, width)``, same dtype (area averaging when shrinking, bilinear when
        growing).
    """
    if size is None or (gray.shape[1], gray.shape[0]) == tuple(size):
        return gray
    width, height = int(size[0]), int(size[1])
    shrink = width <= gray.shape[1] and height <= gray.shape[0]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, height), interpolation=interp)


def _plane_array(frame: av.VideoFrame) -> tuple[np.ndarray, int] | None:
    """The luma plane of ``frame`` as stored, and its bit depth; None if not planar luma.

    Returns:
        ``((H, W) uint8 or uint16 codes, bit_depth)``, or None for formats whose plane 0 is
        not luma alone (RGB, palette, packed YUYV, Bayer, big-endian).
    """
    fmt = frame.format
    comps = fmt.components
    if (
        fmt.is_rgb
        or fmt.has_palette
        or fmt.is_bayer
        or fmt.is_big_endian
        or not comps
        or not comps[0].is_luma
        or comps[0].plane != 0
        or any(c.plane == 0 for c in comps[1:])
    ):
        return None
    bits = comps[0].bits
    plane = frame.planes[0]
    if bits <= 8:
        arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return arr[:, : frame.width], bits
    if bits > 16:
        return None
    arr = np.frombuffer(plane, np.uint16).reshape(plane.height, plane.line_size // 2)
    arr = arr[:, : frame.width]
    if _MSB_PACKED.match(fmt.name):
        arr = arr >> (16 - bits)
    return arr, bits


def frame_gray(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """Full-range 8-bit gray of a decoded frame, read from its Y plane when it has one.

    When resizing, the stored codes are resized first and mapped to full range after
    (the mapping is affine, so the order changes values by at most 1 code), which makes
    the range mapping cost the working size, not the full size.

    Args:
        frame: a decoded PyAV video frame of any pixel format.
        size: ``(width, height)`` to resize to (see :func:`resize_gray`), or None.

    Returns:
        ``(H, W)`` uint8 in 0..255 (a new array, not a view of the frame).
    """
    full = is_full_range(frame.format.name, int(frame.color_range))
    planar = _plane_array(frame)
    if planar is None:
        return resize_gray(_gray_via_swscale(frame), size)
    codes, bits = planar
    if size is not None:
        codes = resize_gray(codes, size)
    if bits == 8:
        if full:
            return codes.copy() if size is None else codes
        return cv2.LUT(codes, luma_lut(8, False))
    return luma_lut(bits, full)[codes]


def frame_y_plane(frame: av.VideoFrame) -> VideoPlane:
    """The Y plane of a decoded frame as stored, at its own bit depth.

    Args:
        frame: a decoded PyAV video frame of any pixel format.

    Returns:
        A VideoPlane: ``(H, W)`` codes (uint8, or uint16 above 8 bits), whether they are
        full range, and their bit depth. Formats without a Y plane (RGB, palette) give
        their full-range gray (for deep RGB such as 16-bit PNG/TIFF or 10-bit DPX, the
        BT.709 luma of the 16-bit RGB at the format's depth: exact for gray scans).
    """
    full = is_full_range(frame.format.name, int(frame.color_range))
    planar = _plane_array(frame)
    if planar is None:
        comps = frame.format.components
        bits = max((c.bits for c in comps), default=8)
        if bits > 16 and frame.format.name in _FLOAT_RGB:  # EXR: 16-bit codes of its values
            return VideoPlane(_float_gray16(frame), True, 16)
        if bits <= 8 or bits > 16:
            return VideoPlane(_gray_via_swscale(frame), True, 8)
        # Luma of the 16-bit RGB at full precision (exact for gray scans, R = G = B).
        rgb = frame.to_ndarray(format="rgb48le").astype(np.float32)
        luma = rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722
        arr = np.clip(np.floor(luma + 0.5), 0, 65535).astype(np.uint32)
        if bits < 16:
            arr = (arr.astype(np.uint32) * ((1 << bits) - 1) + 32767) // 65535
        return VideoPlane(arr.astype(np.uint16), True, bits)
    codes, bits = planar
    if bits == 8:
        return VideoPlane(codes.copy(), full, 8)
    return VideoPlane(np.ascontiguousarray(codes, np.uint16), full, bits)


#: Float pixel formats (OpenEXR) read as 16-bit gray.
_FLOAT_RGB = ("gbrpf32le", "gbrapf32le", "grayf32le", "gbrpf16le", "gbrapf16le", "grayf16le")


def _float_gray16(frame: av.VideoFrame) -> np.ndarray:
    """16-bit full-range gray of a float frame: its values taken as display values, 0..1.

    OpenEXR scans are often linear light; vidcolor does not apply a transfer here (the
    file's values are clipped to [0, 1] and quantised), so grade linear EXR to a display
    encoding first.
    """
    gray = frame.format.name.startswith("gray")
    arr = frame.to_ndarray(format="grayf32le" if gray else "gbrpf32le").astype(np.float32)
    if not gray:
        arr = arr[..., 0] * 0.2126 + arr[..., 1] * 0.7152 + arr[..., 2] * 0.0722
    return np.floor(np.clip(arr, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


def _gray_via_swscale(frame: av.VideoFrame) -> np.ndarray:
    gray = frame.reformat(format="gray", dst_color_range=2)
    plane = gray.planes[0]
    arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return arr[:, : gray.width].copy()


# ----------------------------------------------------------------------------- iterators


def iter_frames(
    path: str | Path,
    *,
    strict: bool = False,
    report: DecodeReport | None = None,
    rate: Fraction | None = None,
) -> Iterator[tuple[FrameTime, av.VideoFrame]]:
    """Decode the first video stream, yielding every frame with its time.

    Frames come in presentation order with the pts the file gives them, so variable
    frame rate is preserved. A frame without a pts gets one from its index and the
    average frame rate. A packet that fails to decode is filled with a neighbouring
    frame (see the module docstring) unless ``strict``.

    Args:
        path: the video file.
        strict: raise DecodeError at the first packet that fails to decode, or frame the
            decoder flags as corrupt, instead of filling/passing it on.
        report: collects what was filled, concealed or dropped.
        rate: frames per second of an image-sequence input (default 24).

    Yields:
        ``(FrameTime(index, pts, time_base), frame)``; ``index`` counts from 0 with no gap.

    Raises:
        DecodeError: the file cannot be opened as video, has no video stream, or (strict)
            a packet fails to decode.
    """
    path = Path(path)
    report = report if report is not None else DecodeReport()
    container = open_input(path, rate)
    try:
        stream = select_video_stream(container)
        if stream is None:
            raise DecodeError("no video stream (expected a video stream)", path=path)
        stream.thread_type = "AUTO"
        time_base = Fraction(stream.time_base or Fraction(1, 90000))
        rate = stream.average_rate or stream.guessed_rate
        state = _FillState(time_base, report)
        for frame in _decode_with_failures(path, container, stream, strict, state):
            pts = frame.pts
            if pts is None:
                pts = _synth_pts(state.index, rate, time_base, state.last_pts)
            if state.last_pts is not None and pts <= state.last_pts:
                pts = state.last_pts + 1  # keep pts strictly increasing
            # Slots of packets that failed to decode and come before this frame: fill them.
            yield from state.fill_before(pts, frame)
            if frame.is_corrupt:
                if strict:
                    raise DecodeError(
                        f"frame {state.index} (pts {pts}) is corrupt (expected a clean "
                        "decode; run without --strict to pass it on)",
                        path=path,
                    )
                report.concealed.append(state.index)
                report.messages.append(f"frame {state.index}: decoded with errors (concealed)")
            yield state.emit(pts, frame)
        yield from state.fill_rest()
        if state.index == 0:
            raise DecodeError(
                "zero frames decoded from the video stream (expected at least one frame)",
                path=path,
            )
        declared = stream.frames or 0
        if declared > state.index + report.dropped:
            missing = declared - state.index - report.dropped
            if strict:
                raise DecodeError(
                    f"found {state.index} frames, the container declares {declared} (the "
                    "file looks truncated; run without --strict to keep what can be read)",
                    path=path,
                )
            report.missing = missing
            report.messages.append(
                f"the container declares {declared} frames but only {state.index} could be "
                "read: the file looks truncated"
            )
    finally:
        container.close()


class _FillState:
    """Bookkeeping for filling the frames of failed packets with neighbouring pictures.

    Every demuxed packet's pts is a slot a frame should fill. When a decoded frame
    arrives, slots before it that no frame took are the failed packets' frames, as long
    as failures are still unaccounted for (a decoder may also legitimately skip a packet,
    e.g. leading B-frames of an open GOP; those slots are not filled). Matching by slot
    rather than by the packet that raised copes with frame-threaded decoders, which
    report an error a few packets late.
    """

    def __init__(self, time_base: Fraction, report: DecodeReport) -> None:
        self.time_base = time_base
        self.report = report
        self.index = 0
        self.last_pts: int | None = None
        self.last_frame: av.VideoFrame | None = None
        self.slots: list[int] = []  # heap of demuxed packet pts not yet matched
        self.failures = 0  # packets that failed to decode
        self.unplaced = 0  # failures without a usable pts

    def add_packet(self, pts: int | None) -> None:
        if pts is not None:
            heapq.heappush(self.slots, pts)

    def add_failure(self, pts: int | None) -> None:
        self.failures += 1
        if pts is None:
            self.unplaced += 1

    def _owed(self) -> int:
        return self.failures - self.unplaced - len(self.report.filled)

    def emit(self, pts: int, frame: av.VideoFrame) -> tuple[FrameTime, av.VideoFrame]:
        item = (FrameTime(self.index, pts, self.time_base), frame)
        self.index += 1
        self.last_pts = pts
        self.last_frame = frame
        return item

    def _fill(self, pts: int, neighbour: av.VideoFrame) -> tuple[FrameTime, av.VideoFrame]:
        self.report.filled.append(self.index)
        self.report.messages.append(
            f"frame {self.index} (pts {pts}) failed to decode; filled from a neighbour"
        )
        return self.emit(pts, neighbour)

    def fill_before(self, pts: int, nxt: av.VideoFrame):
        while self.slots and self.slots[0] < pts:
            slot = heapq.heappop(self.slots)
            if self._owed() > 0 and (self.last_pts is None or slot > self.last_pts):
                yield self._fill(slot, self.last_frame if self.last_frame is not None else nxt)
        while self.slots and self.slots[0] == pts:
            heapq.heappop(self.slots)

    def fill_rest(self):
        while self.slots and self.last_frame is not None and self.last_pts is not None:
            slot = heapq.heappop(self.slots)
            if self._owed() > 0 and slot > self.last_pts:
                yield self._fill(slot, self.last_frame)
        lost = self.failures - len(self.report.filled)
        if lost > 0:
            self.report.dropped += lost
            self.report.messages.append(
                f"{lost} packet(s) failed to decode and could not be placed; skipped"
            )


def _decode_with_failures(path, container, stream, strict, state: _FillState):
    """Yield decoded frames; record packets and failures in ``state`` (raise when strict)."""
    try:
        for packet in container.demux(stream):
            if packet.size:
                state.add_packet(packet.pts)
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                if strict:
                    raise DecodeError(
                        f"a packet near pts {packet.pts} failed to decode ({exc}); expected "
                        "a clean stream (run without --strict to fill it from a neighbour)",
                        path=path,
                    ) from exc
                state.add_failure(packet.pts if packet.size else None)
                continue
            yield from frames
    except av.FFmpegError as exc:
        # The demuxer gave up (e.g. truncated file): keep what was decoded.
        if strict:
            raise DecodeError(
                f"reading stopped early ({exc}); expected a complete file", path=path
            ) from exc
        state.report.messages.append(f"reading stopped early: {exc}")
        try:
            yield from stream.decode(None)  # drain the decoder's delayed frames
        except av.FFmpegError:
            pass


def _synth_pts(index: int, rate, time_base: Fraction, last_pts: int | None) -> int:
    if rate:
        pts = int(round(Fraction(index) / Fraction(rate) / time_base))
    else:
        pts = index
    if last_pts is not None and pts <= last_pts:
        pts = last_pts + 1
    return pts


def _iter_luma(path, size, strict, report, rate):
    for time, frame in iter_frames(path, strict=strict, report=report, rate=rate):
        yield time, frame_gray(frame, size)


def _iter_planes(path, strict, report, rate):
    for time, frame in iter_frames(path, strict=strict, report=report, rate=rate):
        yield time, frame_y_plane(frame)


def iter_luma(
    path: str | Path,
    size: tuple[int, int] | None = None,
    *,
    strict: bool = False,
    report: DecodeReport | None = None,
    prefetch: int = 0,
    rate: Fraction | None = None,
) -> Iterator[tuple[FrameTime, np.ndarray]]:
    """Stream every frame's full-range gray, optionally at a working size.

    Args:
        path: the video file.
        size: ``(width, height)`` to resize to (area averaging when shrinking), or None
            for the stored size. Note: ``(width, height)``, as OpenCV and PyAV order it.
        strict: raise on a packet that fails to decode instead of filling the frame.
        report: collects filled/concealed frames (see DecodeReport).
        prefetch: if > 0, decode in a worker thread at most this many frames ahead; the
            returned iterator then has ``close()``, call it (or use ``with``) if you stop
            early.
        rate: frames per second of an image-sequence input (default 24).

    Yields:
        ``(FrameTime, gray)``: gray is ``(H, W)`` uint8 in 0..255, limited-range streams
        expanded to full range, 10-bit and deeper rounded to 8 bits. Frames are as stored
        (display rotation is not applied; it is metadata the encoder copies).

    Raises:
        DecodeError: as :func:`iter_frames`.
    """
    it = _iter_luma(path, size, strict, report, rate)
    return BoundedPrefetch(it, prefetch, name="vidcolor-decode-luma") if prefetch > 0 else it


def iter_video_frames(
    path: str | Path,
    *,
    strict: bool = False,
    report: DecodeReport | None = None,
    prefetch: int = 0,
    rate: Fraction | None = None,
) -> Iterator[tuple[FrameTime, VideoPlane]]:
    """Stream every frame's Y plane as stored, for the encoder to write back untouched.

    Args:
        path: the video file.
        strict: raise on a packet that fails to decode instead of filling the frame.
        report: collects filled/concealed frames (see DecodeReport).
        prefetch: if > 0, decode in a worker thread at most this many frames ahead.
        rate: frames per second of an image-sequence input (default 24).

    Yields:
        ``(FrameTime, VideoPlane)``: ``plane.y`` is ``(H, W)`` as stored (uint8, or
        uint16 above 8 bits; limited or full range per ``plane.full_range``);
        ``plane.gray`` is its 8-bit full-range gray, ``plane.luma`` its full precision.
        Pass ``plane.y`` to :meth:`vidcolor.io.encode.VideoWriter.write`.

    Raises:
        DecodeError: as :func:`iter_frames`.
    """
    it = _iter_planes(path, strict, report, rate)
    return BoundedPrefetch(it, prefetch, name="vidcolor-decode") if prefetch > 0 else it


def count_frames(path: str | Path) -> int:
    """Count the video frames by demuxing (no decoding): fast, for progress totals.

    Args:
        path: the video file.

    Returns:
        The number of non-empty video packets (one per frame for every common codec).
    """
    container = open_input(path)
    try:
        stream = select_video_stream(container)
        if stream is None:
            raise DecodeError("no video stream (expected a video stream)", path=path)
        return sum(1 for p in container.demux(stream) if p.size)
    except av.FFmpegError as exc:
        raise DecodeError(f"cannot count frames ({exc})", path=path) from exc
    finally:
        container.close()
