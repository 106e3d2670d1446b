"""Writing the output as numbered images (``-o out/%06d.png``, ``.tif``, ``.dpx``).

:class:`SequenceWriter` takes frames as :class:`~vidcolor.io.encode.VideoWriter` does
(the input's Y plane, new U and V at full resolution), turns them into RGB at full
precision (16 bits per channel for a 10-16-bit source, 8 bits otherwise) and writes one
file per frame, each atomically (``vidcolor.atomic.write_bytes``), numbered as the input
was (a video input counts from 0). DPX frames carry the source's start timecode in their
television header, counted on frame by frame (:mod:`vidcolor.io.dpx`); PNG and TIFF have
no timecode field, so a source's timecode is not carried there (a warning says so).
:func:`open_writer` picks the writer for an output path; :func:`check_output` refuses a
bad output before the input is read, and :func:`check_writer` what the encoder would
refuse once the input is probed, before any work.
"""

from __future__ import annotations

import logging
import os
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidcolor.atomic import write_bytes
from vidcolor.errors import InputError, OutputError
from vidcolor.frames import FrameTime
from vidcolor.io import timecode as tc
from vidcolor.io.dpx import with_television_header
from vidcolor.io.encode import MATRIX_COEFFS, VideoWriter, convert_depth, matrix_for
from vidcolor.io.formats import check_output_format
from vidcolor.io.probe import VideoInfo
from vidcolor.io.sequence import IMAGE_ENCODERS, check_sequence_output, is_pattern
from vidcolor.options import EncodeOptions

log = logging.getLogger(__name__)


def check_output(dst: str | Path, options: EncodeOptions) -> None:
    """Refuse an output that cannot work, before any work: container x codec, or pattern.

    Raises:
        InputError: see :func:`vidcolor.io.formats.check_output_format`; for a pattern, an
            extension that is not ``.png``/``.tif``/``.dpx``, a missing folder, or frames of
            the pattern that already exist without ``overwrite``.
    """
    dst = Path(dst)
    if not is_pattern(dst):
        check_output_format(dst, options.codec, options.lossless, options.chroma)
        return
    check_sequence_output(dst)
    if options.codec is not None or options.lossless or options.chroma is not None:
        raise InputError(f"found --codec/--lossless/--chroma with an image-sequence output; "
                         f"expected none of them ({dst.suffix} frames are RGB, written as "
                         "they are)", path=dst, field="codec")
    if not options.overwrite:
        m = re.search(r"%0?\d*d", dst.name)
        rx = re.compile("^" + re.escape(dst.name[: m.start()]) + r"\d+"
                        + re.escape(dst.name[m.end():]) + "$")
        taken = sorted(n for n in os.listdir(dst.parent) if rx.match(n))
        if taken:
            raise InputError(f"found {len(taken)} existing frame(s) of the pattern (first "
                             f"{taken[0]}); expected a new folder, or --overwrite",
                             path=dst, field="output")


def check_writer(dst: str | Path, info: VideoInfo, options: EncodeOptions) -> None:
    """Once the input is probed, before any work: refuse what the encoder would refuse.

    See :meth:`VideoWriter.check` and :meth:`SequenceWriter.check`; nothing is written.

    Raises:
        InputError: the picture (size, pixel format) cannot be written with the options.
    """
    open_writer(dst, info, options).check()


def open_writer(dst: str | Path, info: VideoInfo, options: EncodeOptions):
    """The writer for ``dst``: a :class:`SequenceWriter` for a pattern, else a VideoWriter."""
    if is_pattern(dst):
        return SequenceWriter(dst, info, options)
    return VideoWriter(dst, info, options)


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, *, matrix: str, full_range: bool,
               bit_depth: int) -> np.ndarray:
    """R'G'B' in [0, 1] from Y'CbCr codes (pure; the inverse of ``encode.rgb_to_yuv``).

    Args:
        y: ``(H, W)`` luma codes at ``bit_depth``.
        u: ``(H, W)`` Cb codes at ``bit_depth``, full resolution.
        v: ``(H, W)`` Cr codes, likewise.
        matrix: ``"bt709"``, ``"bt601"`` or ``"bt2020"``.
        full_range: full-range codes instead of limited.
        bit_depth: bits per code.

    Returns:
        ``(H, W, 3)`` float32 in [0, 1]. Gray (neutral chroma) gives R = G = B = luma.
    """
    kr, kb = MATRIX_COEFFS[matrix]
    scale = float(1 << (bit_depth - 8))
    if full_range:
        top = float((1 << bit_depth) - 1)
        yn = y.astype(np.float32) / top
        c0 = float(1 << (bit_depth - 1))
        pb, pr = (u.astype(np.float32) - c0) / top, (v.astype(np.float32) - c0) / top
    else:
        yn = (y.astype(np.float32) - 16.0 * scale) / (219.0 * scale)
        pb = (u.astype(np.float32) - 128.0 * scale) / (224.0 * scale)
        pr = (v.astype(np.float32) - 128.0 * scale) / (224.0 * scale)
    r = yn + 2.0 * (1.0 - kr) * pr
    b = yn + 2.0 * (1.0 - kb) * pb
    g = (yn - kr * r - kb * b) / (1.0 - kr - kb)
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0)


class SequenceWriter:
    """Write frames as numbered images, each file atomically; a context manager.

    Same use as :class:`~vidcolor.io.encode.VideoWriter`: compute U and V with
    ``rgb_to_yuv(..., matrix=writer.matrix, full_range=writer.full_range,
    bit_depth=writer.bit_depth)`` at ``writer.chroma_size`` (full resolution) and call
    :meth:`write`. A run that fails or is cancelled removes the frames it wrote.

    Attributes:
        pattern: the output pattern.
        start: the number of the first frame (the input sequence's, else 0).
        bit_depth: 16 for a 10-16-bit source (16-bit RGB files), else 8.
        matrix, full_range, chroma_size, pix_fmt: as for VideoWriter (4:4:4).
        timecode: the source's start timecode, written (counted on per frame) into each
            DPX file's television header; None when the source has none.
        rate: the frame rate that timecode counts at (the source's).
        frames_written: frames written so far.
    """

    def __init__(self, dst: str | Path, info: VideoInfo, options: EncodeOptions | None = None):
        options = options or EncodeOptions()
        self.pattern = Path(dst).absolute()
        self.info = info
        self.overwrite = options.overwrite
        self.encoder = check_sequence_output(self.pattern)
        _, rgb8, rgb16 = IMAGE_ENCODERS[self.pattern.suffix.lower()]
        self.bit_depth = 16 if info.bit_depth > 8 else 8
        self.rgb_format = rgb16 if self.bit_depth > 8 else rgb8
        self.pix_fmt = "yuv444p16le" if self.bit_depth > 8 else "yuv444p"
        self.matrix = matrix_for(info)
        self.full_range = info.full_range
        self.chroma_size = (info.width, info.height)
        self.start = info.sequence.start if info.sequence is not None else 0
        self.timecode = info.timecode
        self.rate = Fraction(info.average_rate) if info.average_rate else None
        self.frames_written = 0
        self.written: list[Path] = []

    def check(self) -> None:
        """Warn (one line) when the source's timecode cannot go into these files."""
        if self.timecode and self.encoder != "dpx":
            log.warning("%s: %s files have no timecode field, so the source's start "
                        "timecode %s is not carried (write .dpx frames to keep it)",
                        self.pattern, self.pattern.suffix, self.timecode)

    def frame_timecode(self, index: int) -> str | None:
        """The timecode of frame ``index`` (from 0): the start timecode moved on by it."""
        if self.timecode is None:
            return None
        try:
            return tc.offset(self.timecode, index, self.rate)
        except ValueError:
            return None  # a timecode tag vidcolor cannot count on (kept out, not guessed)

    def __enter__(self) -> SequenceWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self.frames_written == 0:
                raise OutputError("no frame was written (expected at least one)",
                                  path=self.pattern)
            return
        for path in self.written:  # a failed or cancelled run leaves no partial sequence
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def path_of(self, time: FrameTime) -> Path:
        """The file of the frame with ``time.index``, numbered as the input was."""
        return Path(str(self.pattern) % (self.start + time.index))

    def write(self, time: FrameTime, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Write one frame's file (atomically).

        Args:
            time: the frame's FrameTime (its index gives the number).
            y: ``(H, W)`` the input's Y plane as decoded (uint8, or uint16 at the source's
                depth).
            u: ``(H, W)`` Cb at ``bit_depth`` (uint8, or uint16 at 16 bits).
            v: ``(H, W)`` Cr, likewise.

        Raises:
            ValueError: a plane has the wrong shape.
            OutputError: the file cannot be written (or exists without overwrite).
        """
        h, w = self.info.height, self.info.width
        for name, plane in (("y", y), ("u", u), ("v", v)):
            if plane.shape != (h, w):
                raise ValueError(f"{name}: found {plane.shape}, expected ({h}, {w})")
        src_bits = 8 if y.dtype == np.uint8 else min(16, max(9, self.info.bit_depth))
        if self.full_range and src_bits != self.bit_depth:  # full range scales, not shifts
            top_in, top_out = (1 << src_bits) - 1, (1 << self.bit_depth) - 1
            y_out = np.floor(y.astype(np.float64) * top_out / top_in + 0.5)
        else:
            y_out = convert_depth(y, src_bits, self.bit_depth)
        rgb = yuv_to_rgb(y_out, u, v, matrix=self.matrix, full_range=self.full_range,
                         bit_depth=self.bit_depth)
        top = (1 << self.bit_depth) - 1
        codes = np.floor(rgb * top + 0.5).astype(np.uint16 if self.bit_depth > 8 else np.uint8)
        data = self._encode(codes)
        if self.encoder == "dpx":
            data = with_television_header(data, self.frame_timecode(time.index), self.rate,
                                          self.info.interlaced)
        path = self.path_of(time)
        try:
            write_bytes(path, data, overwrite=self.overwrite)
        except OSError as exc:
            raise OutputError(f"cannot write frame {time.index}: {exc}", path=path) from exc
        self.written.append(path)
        self.frames_written += 1

    def _encode(self, codes: np.ndarray) -> bytes:
        fmt = "rgb48le" if codes.dtype == np.uint16 else "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(codes), format=fmt)
        if frame.format.name != self.rgb_format:
            frame = frame.reformat(format=self.rgb_format)
        ctx = av.CodecContext.create(self.encoder, "w")
        ctx.width, ctx.height, ctx.pix_fmt = frame.width, frame.height, self.rgb_format
        ctx.time_base = self.info.time_base
        frame.pts = 0
        packets = list(ctx.encode(frame)) + list(ctx.encode(None))
        return b"".join(bytes(p) for p in packets)
