"""Atomic video output: colored frames with the input's luma, timing, audio and metadata.

:class:`VideoWriter` writes frames given as Y, U and V planes. The Y plane is the input's
own (from :func:`vidcolor.io.decode.iter_video_frames`), so the output luma equals the
input luma up to codec loss; U and V carry the new color. Each frame keeps the pts it is
given (variable frame rate survives), the frame rate, time base, size, display rotation,
color range/matrix tags and container metadata are copied from the input's
:class:`~vidcolor.io.probe.VideoInfo`, and every audio stream of the input is copied packet
for packet (same bytes, same pts) while the video is written, or transcoded when the
output container cannot carry its codec (AAC to Opus for ``.webm``). Subtitle streams are
copied packet for packet when the container takes their format, and left out with a
warning when it does not (text subtitle formats do not convert losslessly); both by
:class:`vidcolor.io.streams.StreamCopier`.

The file is written to a temp file beside the destination and renamed when the writer
closes without error (see :mod:`vidcolor.atomic`).

Example:
    >>> info = probe("in.mp4")                                      # doctest: +SKIP
    >>> with VideoWriter("out.mkv", info, EncodeOptions()) as out:  # doctest: +SKIP
    ...     for time, plane in iter_video_frames("in.mp4"):
    ...         u, v = chroma_for(plane)                             # your color here
    ...         out.write(time, plane.y, u, v)
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidcolor.atomic import check_output_path, commit_temp, no_space_error, temp_path_for
from vidcolor.errors import InputError, OutputError
from vidcolor.frames import FrameTime
from vidcolor.io.fields import FIELD_CODING_ILDCT, FieldMarker, set_field_order
from vidcolor.io.formats import (
    LIMITED_RANGE_ONLY,
    check_encoder_limits,
    check_output_format,
    codec_options,
    layout_notice,
    output_pix_fmt,
    pix_fmt_depth,
)
from vidcolor.io.probe import RANGE_FULL, RANGE_LIMITED, VideoInfo
from vidcolor.io.streams import SKIP_TAGS, StreamCopier
from vidcolor.options import EncodeOptions

log = logging.getLogger(__name__)

# AVColorSpace numbers and the luma coefficients (Kr, Kb) of their matrices.
MATRIX_COEFFS = {
    "bt709": (0.2126, 0.0722),
    "bt601": (0.299, 0.114),
    "bt2020": (0.2627, 0.0593),
}
_COLORSPACE_MATRIX = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}
_MATRIX_COLORSPACE = {"bt709": 1, "bt601": 6, "bt2020": 9}
_MATRIX_PRIMARIES = {"bt709": 1, "bt601": 6, "bt2020": 9}  # AVColorPrimaries
_MATRIX_TRC = {"bt709": 1, "bt601": 6, "bt2020": 14}  # AVColorTransferCharacteristic

# Small pictures lose luma PSNR at the same crf (measured: 16x16 42.9 dB and QCIF
# carphone 44.1 dB at crf 16, where CIF and larger give 45.5-48 dB); they get a finer crf,
# and their bits cost little. (pixels below which, crf steps finer), first match wins.
_SMALL_PICTURE_CRF = ((96 * 96, 4), (320 * 240, 2))


def size_crf_offset(width: int, height: int) -> int:
    """How many crf steps finer a picture of this size is encoded (0 from 320x240 up)."""
    for limit, offset in _SMALL_PICTURE_CRF:
        if width * height < limit:
            return offset
    return 0


# Codecs whose crf scale is coarser than x264's: crf N there gives about the luma PSNR of
# x264 (tune grain) at crf N + offset (measured on foreman/realshort: VP9 crf 16 gave
# 44.2-45.0 dB where x264 crf 16 gave 45.5-46 dB; VP9 crf 12 gave 45.6-46.5 dB).
_CRF_OFFSET = {"libvpx-vp9": 4, "libvpx": 4}

# How far (seconds) audio is muxed ahead of the last video frame written.
_AUDIO_LEAD_S = 0.5


def matrix_for(info: VideoInfo) -> str:
    """The YUV matrix the output uses: the input's if tagged, else by picture height.

    Untagged video follows the usual player guess: BT.709 from 720 lines up, BT.601 below.

    Returns:
        ``"bt709"``, ``"bt601"`` or ``"bt2020"``.
    """
    return _COLORSPACE_MATRIX.get(info.colorspace, "bt709" if info.height >= 720 else "bt601")


def rgb_to_yuv(
    rgb: np.ndarray, *, matrix: str = "bt709", full_range: bool = False, bit_depth: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution Y, U and V planes of an sRGB image (pure function).

    Args:
        rgb: ``(H, W, 3)`` uint8 R'G'B' (or float32 in [0, 1]).
        matrix: ``"bt709"``, ``"bt601"`` or ``"bt2020"`` (use :attr:`VideoWriter.matrix`).
        full_range: full-range codes (0..2**bit_depth-1) instead of limited (at 8 bits
            Y 16..235, UV 16..240; deeper, the same scaled by ``2**(bit_depth-8)``).
        bit_depth: bits per output code (8 to 16; :attr:`VideoWriter.bit_depth`).

    Returns:
        ``(y, u, v)``: each ``(H, W)``, uint8 at 8 bits, uint16 deeper. A writer only
        needs ``u`` and ``v``; its Y plane is the input's own.
    """
    if matrix not in MATRIX_COEFFS:
        raise ValueError(f"matrix: found {matrix!r}, expected one of {sorted(MATRIX_COEFFS)}")
    kr, kb = MATRIX_COEFFS[matrix]
    x = rgb.astype(np.float32)
    if rgb.dtype == np.uint8:
        x /= 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    pb = (b - y) / (2.0 * (1.0 - kb))
    pr = (r - y) / (2.0 * (1.0 - kr))
    top = (1 << bit_depth) - 1
    scale = float(1 << (bit_depth - 8))
    if full_range:
        ys = cs = float(top)
        y0, c0 = 0.0, float(1 << (bit_depth - 1))
    else:
        ys, cs, y0, c0 = 219.0 * scale, 224.0 * scale, 16.0 * scale, 128.0 * scale
    dtype = np.uint8 if bit_depth <= 8 else np.uint16

    def code(v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(v + 0.5), 0, top).astype(dtype)

    return code(y0 + ys * y), code(c0 + cs * pb), code(c0 + cs * pr)


def convert_depth(y: np.ndarray, src_bits: int, dst_bits: int) -> np.ndarray:
    """Luma codes from ``src_bits`` to ``dst_bits`` per sample (exact when deepening).

    Args:
        y: ``(H, W)`` uint8 or uint16 codes at ``src_bits``.
        src_bits: bits of ``y``.
        dst_bits: bits wanted.

    Returns:
        ``(H, W)`` uint8 (8 bits) or uint16 codes: shifted up (exact, as FFmpeg converts
        limited range), or rounded down.
    """
    if src_bits == dst_bits:
        return y
    dtype = np.uint8 if dst_bits <= 8 else np.uint16
    if dst_bits > src_bits:
        return (y.astype(np.uint16) << (dst_bits - src_bits)).astype(dtype)
    shift = src_bits - dst_bits
    rounded = (y.astype(np.uint32) + (1 << (shift - 1))) >> shift
    return np.minimum(rounded, (1 << dst_bits) - 1).astype(dtype)


def full_to_limited(y: np.ndarray, src_bits: int, dst_bits: int) -> np.ndarray:
    """Full-range luma codes as limited-range codes (pure; the picture looks the same).

    Args:
        y: ``(H, W)`` uint8 or uint16 full-range codes at ``src_bits``.
        src_bits: bits of ``y``.
        dst_bits: bits of the result.

    Returns:
        ``(H, W)`` codes in ``16..235`` scaled by ``2**(dst_bits - 8)``, uint8 at 8 bits,
        uint16 deeper.
    """
    scale = float(1 << (dst_bits - 8))
    codes = 16.0 * scale + y.astype(np.float64) * (219.0 * scale / ((1 << src_bits) - 1))
    return np.floor(codes + 0.5).astype(np.uint8 if dst_bits <= 8 else np.uint16)


def fill_plane(plane: av.video.plane.VideoPlane, values: np.ndarray) -> None:
    """Copy samples into a frame plane, honouring its line size.

    Args:
        plane: a plane of an ``av.VideoFrame`` of the matching format.
        values: ``(h, w)`` uint8 or uint16 samples; the padding beyond them repeats the
            last column and row.
    """
    line = plane.line_size // values.itemsize
    h, w = values.shape
    if line == w and plane.height == h:
        plane.update(np.ascontiguousarray(values).tobytes())
        return
    buf = np.empty((plane.height, line), values.dtype)
    buf[:h, :w] = values
    buf[:h, w:] = values[:, -1:]
    buf[h:] = buf[h - 1 : h]
    plane.update(buf.tobytes())


class VideoWriter:
    """Write a colored copy of a video atomically; a context manager.

    Args:
        dst: the output file; its extension picks the container: ``.mp4`` ``.m4v``
            ``.mkv`` ``.mov`` ``.webm``.
        info: the input's :func:`~vidcolor.io.probe.probe` result (size, timing, rotation,
            color tags, metadata, audio streams and the input path).
        options: codec (None: libx264, or libvpx-vp9 for .webm; see
            :mod:`vidcolor.io.formats`), crf (default 16: luma PSNR >= 45 dB), lossless,
            overwrite.
        overwrite: also allows replacing an existing ``dst`` (either this or
            ``options.overwrite``).
        copy_audio: copy the input's audio (transcoded where needed) and subtitle streams.
        preset: x264/x265 preset (speed/size trade-off; quality is set by crf).
        tune: x264/x265 tune; default ``"grain"`` keeps film grain and fine texture (it
            raises luma PSNR by about 1 dB at the same crf), None for x264's default.

    Raises (on entering):
        InputError: ``dst`` is the input file, or has an unsupported extension.
        OutputError: ``dst`` exists without overwrite, or its directory is not writable.

    Raises (while writing / closing):
        OutputError: the disk is full or a write fails (the temp file is removed).

    Attributes:
        matrix: the YUV matrix of the output (``"bt709"``, ``"bt601"``, ``"bt2020"``):
            compute U and V with ``rgb_to_yuv(rgb, matrix=writer.matrix,
            full_range=writer.full_range)``.
        full_range: whether the output uses full-range codes: as the input, except with
            ProRes, which is limited range only (a full-range source's Y codes are mapped
            to limited range when written).
        pix_fmt: the written pixel format: the input's subsampling and bit depth where
            the codec takes them (:func:`vidcolor.io.formats.output_pix_fmt`).
        bit_depth: bits per sample written; U and V are given at this depth (uint16
            above 8 bits); Y is given as decoded and converted (shifted) if it differs.
        chroma_size: ``(width, height)`` of the U and V planes.
        crf: the crf passed to the encoder: ``options.crf`` on x264's scale, made 4 lower
            for VP9 (whose scale is coarser) and 2 lower below 320x240 pixels, 4 lower
            below 96x96 (see :func:`size_crf_offset`), so that the default keeps luma
            PSNR >= 45 dB at every size.
        frames_written: frames written so far.
        audio_mode: per input audio stream, ``"copy"`` or ``"transcode:<codec>"``.
        subtitle_mode: per input subtitle stream, ``"copy"``, or ``"dropped:<codec>"``
            when the output container cannot hold that subtitle format (a warning says so).
    """

    def __init__(
        self,
        dst: str | Path,
        info: VideoInfo,
        options: EncodeOptions | None = None,
        *,
        overwrite: bool = False,
        copy_audio: bool = True,
        preset: str = "medium",
        tune: str | None = "grain",
    ):
        options = options or EncodeOptions()
        self.dst = Path(dst)
        self.info = info
        self.options = options
        self.overwrite = overwrite or options.overwrite
        self.copy_audio = copy_audio
        self.preset = preset
        self.tune = tune
        self.format = check_output_format(self.dst, options.codec, options.lossless,
                                          options.chroma)
        self.format_name, self.audio_codec = self.format.muxer, self.format.audio_codec
        self.codec = self.format.codec
        self.pix_fmt = output_pix_fmt(self.codec, info.width, info.height, info.pix_fmt,
                                      info.bit_depth, options.chroma)
        self.bit_depth = pix_fmt_depth(self.pix_fmt)
        self.crf = max(
            0,
            int(options.crf)
            - _CRF_OFFSET.get(self.codec, 0)
            - size_crf_offset(info.width, info.height),
        )
        self.matrix = matrix_for(info)
        # Full range as the source, except where the codec has only limited range (ProRes).
        self.full_range = info.full_range and self.codec not in LIMITED_RANGE_ONLY
        self.frames_written = 0
        self.audio_mode: list[str] = []
        self.subtitle_mode: list[str] = []
        self._tmp: Path | None = None
        self._out = None
        self._stream = None
        self._copier: StreamCopier | None = None
        self._last_pts: int | None = None
        self._last_dts: int | None = None
        self._fields: FieldMarker | None = None
        fmt = av.VideoFormat(self.pix_fmt)
        self.chroma_size = (fmt.chroma_width(info.width), fmt.chroma_height(info.height))

    def check(self) -> None:
        """Refuse, before any work, what the encoder would refuse; warn where less is kept.

        Checks the picture size and pixel format against the codec's known limits (one
        clear line, e.g. DNxHR below 256x120), then opens the encoder with the exact
        settings the writer will use (nothing is written), so that no combination fails
        only once frames are being encoded. Logs one warning line when the output keeps
        less depth than the source, or plays in fewer places (x264 beyond 8-bit
        4:2:0 in ``.mp4``).

        Raises:
            InputError: the encoder cannot take this picture with these settings.
        """
        info = self.info
        check_encoder_limits(self.dst, self.codec, info.width, info.height, self.pix_fmt)
        options = codec_options(self.format, self.pix_fmt, self.crf, preset=self.preset,
                                tune=self.tune, interlaced=info.interlaced)
        ctx = av.CodecContext.create(self.codec, "w")
        ctx.width, ctx.height, ctx.pix_fmt = info.width, info.height, self.pix_fmt
        ctx.time_base = info.time_base
        ctx.framerate = info.average_rate or Fraction(24)
        ctx.options = options
        try:
            ctx.open()
        except (ValueError, av.FFmpegError) as exc:
            raise InputError(
                f"found a {info.width}x{info.height} {self.pix_fmt} picture, which the "
                f"{self.codec} encoder refuses with {options} ({exc}); expected another "
                "--codec or --chroma (see the codec table in the README)",
                path=self.dst, field="codec") from exc
        notice = layout_notice(self.format.suffix, self.codec, info.pix_fmt, info.bit_depth,
                               self.pix_fmt)
        if notice:
            log.warning("%s: %s", self.dst, notice)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> VideoWriter:
        self.dst = check_output_path(self.dst, inputs=[self.info.path], overwrite=self.overwrite)
        self._tmp = temp_path_for(self.dst)
        try:
            self._open()
        except BaseException as exc:
            self._abort()
            raise self._as_output_error(exc, "cannot start writing") from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._finish()
        except BaseException as exc:
            self._abort()
            raise self._as_output_error(exc, "writing failed") from exc
        tmp, self._tmp = self._tmp, None
        try:
            commit_temp(tmp, self.dst, overwrite=self.overwrite)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _open(self) -> None:
        info = self.info
        # Keep timestamps exactly as given (no shifting to make audio priming non-negative).
        self._out = av.open(
            str(self._tmp), "w", format=self.format_name, options={"avoid_negative_ts": "disabled"}
        )
        for key, value in info.metadata.items():
            if key.lower() not in SKIP_TAGS:
                self._out.metadata[key] = value
        rate = info.average_rate or Fraction(24)
        try:
            stream = self._out.add_stream(self.codec, rate=rate)
        except (ValueError, av.FFmpegError) as exc:
            raise InputError(
                f"video codec {self.codec!r} cannot be written to {self.dst.suffix} files "
                f"({exc}); expected e.g. libx264 (mp4/mkv/mov) or libvpx-vp9 (webm)",
                path=self.dst,
                field="codec",
            ) from exc
        stream.width, stream.height = info.width, info.height
        stream.pix_fmt = self.pix_fmt
        stream.codec_context.time_base = info.time_base
        stream.time_base = info.time_base
        ctx = stream.codec_context
        ctx.color_range = RANGE_FULL if self.full_range else RANGE_LIMITED
        # The source's own matrix tag (bt470bg stays bt470bg), else the matrix computed with.
        ctx.colorspace = (info.colorspace if info.colorspace in _COLORSPACE_MATRIX
                          else _MATRIX_COLORSPACE[self.matrix])
        if info.color_primaries not in (0, 2):
            ctx.color_primaries = info.color_primaries
        else:
            ctx.color_primaries = _MATRIX_PRIMARIES[self.matrix]
        ctx.color_trc = info.color_trc if info.color_trc not in (0, 2) else _MATRIX_TRC[self.matrix]
        stream.options = codec_options(self.format, self.pix_fmt, self.crf, preset=self.preset,
                                       tune=self.tune, interlaced=info.interlaced)
        for key in ("language", "title"):
            if key in info.video_metadata:
                stream.metadata[key] = info.video_metadata[key]
        if info.timecode:
            stream.metadata["timecode"] = info.timecode  # mov/mp4: a tmcd track; mkv: a tag
        if info.interlaced:
            set_field_order(ctx, info.field_order)
            if self.codec in FIELD_CODING_ILDCT:  # field coding in the source's order
                self._fields = FieldMarker(info.width, info.height, self.pix_fmt,
                                           info.time_base, info.field_order)
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        try:  # open now, so a bad codec option fails here rather than at the first frame
            ctx.open()
        except (ValueError, av.FFmpegError) as exc:
            raise InputError(
                f"the {self.codec} encoder refused its settings {stream.options} at "
                f"{info.width}x{info.height} {self.pix_fmt} ({exc})",
                path=self.dst,
                field="codec",
            ) from exc
        self._stream = stream
        if self.copy_audio and info.sequence is None:  # an image sequence has no sound
            self._copier = StreamCopier(info.path, self._out, self.audio_codec)
            self.audio_mode = self._copier.modes
            self.subtitle_mode = self._copier.subtitle_modes

    def _finish(self) -> None:
        if self.frames_written == 0:
            raise OutputError("no frame was written (expected at least one)", path=self.dst)
        for packet in self._stream.encode():
            self._mux_video(packet)
        if self._copier is not None:
            self._copier.pump(None)
            self._copier.close()
            self._copier = None
        self._out.close()
        self._out = None

    def _abort(self) -> None:
        """Close everything and delete the temp file; never raises."""
        if self._copier is not None:
            try:
                self._copier.close()
            except BaseException:  # noqa: BLE001 - cleanup must go on
                pass
            self._copier = None
        if self._out is not None:
            try:
                self._out.close()
            except BaseException:  # noqa: BLE001 - cleanup must go on
                pass
            self._out = None
        if self._tmp is not None:
            try:
                self._tmp.unlink()
            except FileNotFoundError:
                pass
            self._tmp = None

    def _as_output_error(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, (OutputError, InputError)) or not isinstance(exc, Exception):
            return exc
        if no_space_error(exc):
            return OutputError(
                f"no space left while writing ({os.strerror(exc.errno)}); the partial file was "
                "removed (expected free disk space for the output)",
                path=self.dst,
            )
        if isinstance(exc, (OSError, av.FFmpegError)):
            return OutputError(f"{what}: {exc}", path=self.dst)
        return exc

    # ------------------------------------------------------------------ writing

    def write(self, time: FrameTime, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Encode one frame.

        Args:
            time: the frame's FrameTime from decode; its pts (in its own time base) is
                kept. Frames must come in presentation order.
            y: ``(H, W)`` uint8 Y plane exactly as the input had it (``VideoPlane.y``).
            u: ``(H, W)`` uint8 full-resolution U (Cb), or already subsampled to the
                chroma plane size (``(H+1)//2, (W+1)//2`` for 4:2:0). Same range as y.
            v: like ``u``, for V (Cr).

        Raises:
            ValueError: a plane has the wrong shape or dtype.
            OutputError: the disk is full or the write fails (then leave the ``with``
                block; the temp file is removed).
        """
        if self._out is None:
            raise RuntimeError("VideoWriter.write outside its `with` block")
        h, w = self.info.height, self.info.width
        if y.shape != (h, w) or y.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"y: found {y.shape} {y.dtype}, expected ({h}, {w}) uint8 or "
                             "uint16")
        src_bits = 8 if y.dtype == np.uint8 else min(16, max(9, self.info.bit_depth))
        frame = av.VideoFrame(w, h, self.pix_fmt)
        if self.info.full_range and not self.full_range:
            y = full_to_limited(y, src_bits, self.bit_depth)
        else:
            y = convert_depth(y, src_bits, self.bit_depth)
        fill_plane(frame.planes[0], y)
        for plane, name, values in ((frame.planes[1], "u", u), (frame.planes[2], "v", v)):
            fill_plane(plane, self._chroma(name, values))
        frame.color_range = RANGE_FULL if self.full_range else RANGE_LIMITED
        frame.pts = self._pts(time)
        frame.time_base = self.info.time_base
        if self._fields is not None:
            frame = self._fields(frame)
        try:
            for packet in self._stream.encode(frame):
                self._mux_video(packet)
            self.frames_written += 1
            if self._copier is not None:
                self._copier.pump(float(frame.pts * self.info.time_base) + _AUDIO_LEAD_S)
        except (OSError, av.FFmpegError) as exc:
            raise self._as_output_error(exc, "writing failed") from exc

    def _mux_video(self, packet) -> None:
        """Mux one video packet, replacing a decode timestamp no encoder could mean.

        libx265 (4.2 under FFmpeg 8.1) hands out garbage DTS for clips of one or two frames
        (uninitialised: about -10**15, or 0x7F7F7F7F7F7F7F80), which the muxers refuse. A
        DTS after its own PTS, or more than a minute before it, is such garbage and becomes
        the PTS (nothing is reordered that far).
        """
        if packet.dts is not None and packet.pts is not None and (
                packet.dts > packet.pts or (packet.pts - packet.dts) * packet.time_base > 60):
            last = self._last_dts
            packet.dts = packet.pts if last is None or packet.pts > last else last + 1
        self._last_dts = packet.dts
        self._out.mux(packet)

    def _chroma(self, name: str, values: np.ndarray) -> np.ndarray:
        cw, ch = self.chroma_size
        want = np.uint8 if self.bit_depth <= 8 else np.uint16
        if values.dtype != want or values.ndim != 2:
            raise ValueError(f"{name}: found {values.shape} {values.dtype}, expected 2-D "
                             f"{np.dtype(want).name} ({self.bit_depth}-bit {self.pix_fmt})")
        if values.shape == (ch, cw):
            return values
        if values.shape == (self.info.height, self.info.width):
            return cv2.resize(values, (cw, ch), interpolation=cv2.INTER_AREA)
        raise ValueError(
            f"{name}: found shape {values.shape}, expected ({self.info.height}, "
            f"{self.info.width}) or ({ch}, {cw})"
        )

    def _pts(self, time: FrameTime) -> int:
        tb = self.info.time_base
        if time.pts is None:
            rate = self.info.average_rate or Fraction(24)
            pts = int(round(Fraction(time.index) / rate / tb))
        elif time.time_base != tb:
            pts = int(round(Fraction(time.pts) * time.time_base / tb))
        else:
            pts = time.pts
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(
                f"frame {time.index}: pts {pts} is not after the previous frame's "
                f"{self._last_pts} (expected frames in presentation order)"
            )
        self._last_pts = pts
        return pts
