"""Tiny test media, written with PyAV. Shared by every test module.

Every generator writes into a path the caller chooses (use pytest's ``tmp_path``) and
returns that path. Clips are small (64x48, at most a few dozen frames) so that a test
that decodes and encodes one takes well under a second on one core.

The readers at the bottom (``read_pts``, ``read_luma``, ``read_audio_packets`` ...) use
PyAV directly, never ``vidcolor.io``, so that they can serve as an independent oracle
for the code under test.

The source picture of every generated clip is known exactly: ``pattern_frame(i, ...)``
returns the full-range gray image of frame ``i``. Generators store it in the Y plane
(limited range by default, as almost every real file is), with neutral chroma.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Frame durations (ms) cycled through by variable-frame-rate clips: irregular on purpose.
VFR_DURATIONS_MS = (33, 50, 41, 80, 17, 66)

_DEFAULT_AUDIO = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}


# --------------------------------------------------------------------------- pictures


def scene_of(index: int, cuts: Sequence[int]) -> int:
    """The scene number of frame ``index`` when hard cuts start new scenes at ``cuts``."""
    return sum(1 for c in cuts if index >= c)


def pattern_frame(
    index: int,
    size: tuple[int, int] = (64, 48),
    pattern: str = "moving",
    cuts: Sequence[int] = (),
) -> np.ndarray:
    """The full-range gray picture of one frame of a generated clip.

    Args:
        index: frame number.
        size: ``(width, height)``.
        pattern: ``"moving"`` (textured background, a bright square moving right and a
            dark disc moving down: real motion for optical flow), ``"static"`` (the
            first moving frame, every time), ``"flat"`` (mid gray) or ``"noise"``
            (seeded random texture per frame).
        cuts: frame indices at which a new, different scene starts.

    Returns:
        ``(H, W)`` uint8 in 0..255.
    """
    width, height = size
    scene = scene_of(index, cuts)
    if pattern == "flat":
        return np.full((height, width), 128, np.uint8)
    if pattern == "noise":
        return np.random.default_rng(index).integers(0, 256, (height, width), dtype=np.uint8)
    if pattern not in ("moving", "static"):
        raise ValueError(f"pattern: found {pattern!r}, expected moving|static|flat|noise")
    t = 0 if pattern == "static" else index - (max((c for c in cuts if c <= index), default=0))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # Each scene has its own background: gradient direction, level and texture frequency.
    angle = 0.9 * scene
    grad = (xx * math.cos(angle) + yy * math.sin(angle)) / max(width, height)
    freq = 0.35 + 0.15 * (scene % 3)
    texture = 18.0 * np.sin(xx * freq) * np.cos(yy * freq * 0.7)
    base = 60.0 + 70.0 * (scene % 2)
    img = base + 80.0 * grad + texture
    # A bright square moving right, a dark disc moving down (wrap around).
    side = max(3, min(width, height) // 4)
    sx = (3 + 2 * t + 7 * scene) % max(1, width - side)
    sy = (height // 4 + 5 * scene) % max(1, height - side)
    img[sy : sy + side, sx : sx + side] = 235.0
    r = max(2, min(width, height) // 6)
    cx = (width * 2 // 3 + 3 * scene) % width
    cy = (r + t + 4 * scene) % height
    img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 20.0
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def to_limited(gray: np.ndarray) -> np.ndarray:
    """Full-range 0..255 gray to limited-range (16..235) 8-bit luma, rounded."""
    return (16.0 + gray.astype(np.float32) * (219.0 / 255.0) + 0.5).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays of the same shape (inf if equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


# --------------------------------------------------------------------------- writing


def _fill_plane(plane, values: np.ndarray) -> None:
    """Copy a ``(h, w)`` uint8/uint16 array into a frame plane, honouring its line size."""
    dtype = values.dtype
    per_line = plane.line_size // dtype.itemsize
    buf = np.zeros((plane.height, per_line), dtype)
    buf[: values.shape[0], : values.shape[1]] = values
    plane.update(buf.tobytes())


def _yuv_frame(gray: np.ndarray, pix_fmt: str, full_range: bool) -> av.VideoFrame:
    """A VideoFrame of ``pix_fmt`` whose Y plane holds ``gray`` and whose chroma is neutral."""
    height, width = gray.shape
    frame = av.VideoFrame(width, height, pix_fmt)
    y = gray if full_range else to_limited(gray)
    ten_bit = "10" in pix_fmt
    if ten_bit:
        y = y.astype(np.uint16) << 2
    _fill_plane(frame.planes[0], y)
    neutral = 512 if ten_bit else 128
    for plane in frame.planes[1:]:
        _fill_plane(
            plane, np.full((plane.height, plane.width), neutral, np.uint16 if ten_bit else np.uint8)
        )
    if full_range:
        frame.color_range = 2  # AVCOL_RANGE_JPEG
    return frame


def vfr_pts_ms(frames: int) -> list[int]:
    """Millisecond timestamps of a variable-frame-rate clip of ``frames`` frames."""
    out, t = [], 0
    for i in range(frames):
        out.append(t)
        t += VFR_DURATIONS_MS[i % len(VFR_DURATIONS_MS)]
    return out


ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
    b"Style: Default,Arial,20\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, "
    b"MarginR, MarginV, Effect, Text\n"
)


def make_clip(
    path: str | Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    fps: int | Fraction = 24,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool | str = False,
    vfr: bool = False,
    rotation: int | None = None,
    pattern: str = "moving",
    cuts: Sequence[int] = (),
    interlaced: bool = False,
    full_range: bool = False,
    metadata: dict[str, str] | None = None,
    gop: int | None = None,
    audio_rate: int = 48000,
    audio_layout: str = "mono",
    audio_gap: int = 0,
    audio_gap_after: int = 1,
    faststart: bool = False,
    subtitles: Sequence[tuple[int, int, str]] = (),
) -> Path:
    """Write a tiny gray test clip.

    Args:
        path: output file; the container follows the extension.
        frames: number of video frames.
        size: ``(width, height)``; odd sizes need a codec that takes them (``libvpx-vp9``,
            ``ffv1``, or ``libx264`` with ``pix_fmt="yuv444p"``).
        fps: frame rate (constant-rate clips), or nominal rate for ``vfr``.
        codec: video encoder name.
        pix_fmt: e.g. ``yuv420p``, ``yuv420p10le``, ``yuv444p``.
        audio: False, True (the container's usual codec: AAC, or Opus for .webm) or an
            encoder name (``"aac"``, ``"libopus"``, ``"flac"``; this FFmpeg build has no
            libvorbis). The audio is a 440 Hz mono tone as long as the video.
        vfr: use irregular frame durations (``VFR_DURATIONS_MS``, time base 1/1000).
        rotation: display rotation in degrees counter-clockwise (display matrix).
        subtitles: ``(start_ms, duration_ms, text)`` events of an ASS subtitle stream
            (containers that take ASS: ``.mkv``).
        pattern: see ``pattern_frame``.
        cuts: frame indices where a hard cut to a different scene happens.
        interlaced: encode as interlaced (x264 only), so frames carry the interlaced flag.
        full_range: store full-range Y (tagged ``pc``/JPEG range) instead of limited.
        metadata: container metadata tags (e.g. ``{"title": "..."}``).
        gop: keyframe interval (1 = intra only).
        audio_rate: audio sample rate.
        audio_layout: audio channel layout (``"mono"``, ``"stereo"``, ``"5.1"``).
        audio_gap: samples of silence-without-samples after the first audio packet: every
            later packet's timestamp is shifted by this much (real files have such gaps).
        audio_gap_after: how many audio packets come before the gap.
        faststart: mp4/mov index (moov) at the front, so a truncated copy still opens.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    width, height = size
    rate = Fraction(fps)
    container = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    try:
        if metadata:
            container.metadata.update(metadata)
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        time_base = Fraction(1, 1000) if vfr else 1 / rate
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if full_range:
            stream.codec_context.color_range = 2
        options: dict[str, str] = {}
        if codec == "libx264":
            options["preset"] = "ultrafast"
            options["crf"] = "10"
            if interlaced:
                options["x264-params"] = "interlaced=1"
        if codec == "libvpx-vp9":
            options.update({"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "0"})
        if gop is not None:
            stream.codec_context.gop_size = gop
        stream.options = options
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sstream = None
        if subtitles:
            sstream = container.add_stream("ass")
            sstream.codec_context.subtitle_header = ASS_HEADER
        astream = None
        if audio:
            acodec = _DEFAULT_AUDIO.get(path.suffix.lower(), "aac") if audio is True else audio
            astream = container.add_stream(acodec, rate=audio_rate)
            astream.layout = audio_layout

        pts_list = vfr_pts_ms(frames) if vfr else list(range(frames))
        for i, pts in enumerate(pts_list):
            frame = _yuv_frame(pattern_frame(i, size, pattern, cuts), pix_fmt, full_range)
            frame.pts = pts
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

        if astream is not None:
            seconds = float(frames / rate) if not vfr else (pts_list[-1] + 40) / 1000.0
            _write_tone(container, astream, seconds, audio_rate, audio_layout, audio_gap,
                        audio_gap_after)
        for n, (start_ms, duration_ms, text) in enumerate(subtitles):
            packet = av.Packet(f"{n},0,Default,,0,0,0,,{text}".encode())
            packet.stream = sstream
            packet.time_base = Fraction(1, 1000)
            packet.pts = packet.dts = start_ms
            packet.duration = duration_ms
            container.mux(packet)
    finally:
        container.close()
    return path


def _write_tone(
    container,
    astream,
    seconds: float,
    sample_rate: int = 48000,
    layout: str = "mono",
    gap: int = 0,
    gap_after: int = 1,
) -> None:
    """Encode ``seconds`` of a 440 Hz tone (same in every channel) into ``astream``.

    ``gap`` shifts the timestamps of every packet after the first ``gap_after`` ones by
    that many samples.
    """
    muxed = 0

    def mux(packet) -> None:
        nonlocal muxed
        if gap and muxed >= gap_after and packet.pts is not None:
            packet.pts += gap
            packet.dts = (packet.dts + gap) if packet.dts is not None else None
        muxed += 1
        container.mux(packet)

    chunk = astream.codec_context.frame_size or 1024
    total = int(seconds * sample_rate)
    fmt = astream.codec_context.format.name
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        t = (np.arange(start, start + n) / sample_rate).astype(np.float32)
        tone = 0.3 * np.sin(2 * np.pi * 440.0 * t)
        channels = astream.codec_context.channels
        planar = astream.codec_context.format.is_planar
        tone = np.repeat(tone[None, :], channels, axis=0)
        if not planar:
            tone = tone.T.reshape(1, -1)
        if fmt.startswith("s16"):
            samples = (tone * 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            samples = (tone * 2147483647).astype(np.int32)
        else:
            samples = tone.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        for packet in astream.encode(frame):
            mux(packet)
    for packet in astream.encode():
        mux(packet)


def make_audio_only(path: str | Path, *, seconds: float = 0.5, codec: str = "aac") -> Path:
    """Write a file with one audio stream and no video stream (e.g. ``x.mp4`` or ``x.m4a``)."""
    path = Path(path)
    container = av.open(str(path), "w")
    try:
        astream = container.add_stream(codec, rate=48000)
        astream.layout = "mono"
        _write_tone(container, astream, seconds)
    finally:
        container.close()
    return path


def make_no_frames(
    path: str | Path, *, size: tuple[int, int] = (64, 48), audio: bool = True
) -> Path:
    """Write a container whose video stream holds zero frames.

    With ``audio`` (the default) a short AAC track keeps the file valid, so the video
    stream is listed but empty (Matroska keeps the empty track; name it ``.mkv``). Without
    audio, most demuxers see an empty or unreadable container.
    """
    path = Path(path)
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=48000)
            astream.layout = "mono"
        container.start_encoding()  # write the header although no video packet follows
        if astream is not None:
            _write_tone(container, astream, 0.2)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


def make_empty(path: str | Path) -> Path:
    """Write a zero-byte file."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_random_bytes(path: str | Path, *, n: int = 4096, seed: int = 0) -> Path:
    """Write ``n`` seeded random bytes (name it ``.mp4`` to pose as a video)."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    return path


def make_png(path: str | Path, *, size: tuple[int, int] = (64, 48), rgba: bool = False) -> Path:
    """Write a small PNG image (any extension, e.g. ``.mp4`` to pose as a video).

    The picture is ``pattern_frame(0, size)`` in every channel (and alpha 255).
    """
    path = Path(path)
    gray = pattern_frame(0, size)
    chans = [gray, gray, gray] + ([np.full_like(gray, 255)] if rgba else [])
    img = np.stack(chans, axis=2)
    frame = av.VideoFrame.from_ndarray(img, format="rgba" if rgba else "rgb24")
    data = b"".join(bytes(p) for p in _encode_still(frame, "png"))
    path.write_bytes(data)
    return path


def _encode_still(frame: av.VideoFrame, codec: str) -> list:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height = frame.width, frame.height
    ctx.pix_fmt = frame.format.name
    ctx.time_base = Fraction(1, 1)
    return [*ctx.encode(frame), *ctx.encode(None)]


def png_header(width: int, height: int) -> bytes:
    """A small PNG file that claims ``width x height`` pixels: a decompression-bomb stand-in.

    It holds a valid signature and IHDR, one short IDAT chunk (a zlib stream of a few
    zero rows, far too little for the claimed size) and IEND: a reader that checks the
    header size refuses it; one that decodes first fails or allocates the full picture.
    """
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    idat = zlib.compress(b"\x00" * (min(width, 4096) + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_truncated(src: str | Path, dst: str | Path, *, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (an mp4 cut in half)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def make_corrupt_clip(
    path: str | Path, *, frames: int = 12, bad: Sequence[int] = (5,), **kwargs
) -> Path:
    """Write an intra-only clip whose packets ``bad`` (decode order = frame order) are garbage.

    Uses the PNG codec in QuickTime (name the file ``.mov``), so every frame is its own
    packet and a garbage packet fails to decode (``av.InvalidDataError``) while its
    neighbours decode fine: the "corrupt packets mid-file" case.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    make_clip(path, frames=frames, codec="png", pix_fmt="gray", full_range=True, **kwargs)
    with av.open(str(path)) as container:
        spots = [
            (p.pos, p.size)
            for p in container.demux(container.streams.video[0])
            if p.size and p.pos is not None and p.pos >= 0
        ]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    for i in bad:
        pos, size = spots[i]
        data[pos : pos + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------- reading


def read_pts(path: str | Path) -> list[int]:
    """Presentation timestamps of the first video stream's decoded frames, in order."""
    with av.open(str(path)) as container:
        return [f.pts for f in container.decode(container.streams.video[0])]


def read_times(path: str | Path) -> list[Fraction]:
    """Presentation times in seconds (exact fractions) of the first video stream's frames."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [f.pts * stream.time_base for f in container.decode(stream)]


def read_time_base(path: str | Path) -> Fraction:
    """The first video stream's time base."""
    with av.open(str(path)) as container:
        return container.streams.video[0].time_base


def read_luma(path: str | Path) -> np.ndarray:
    """The Y plane of every frame, exactly as stored (8-bit; 10-bit is shifted down by 2).

    Returns:
        ``(N, H, W)`` uint8.
    """
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            plane = frame.planes[0]
            ten_bit = "10" in frame.format.name
            dtype = np.uint16 if ten_bit else np.uint8
            arr = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : frame.width]
            out.append((arr >> 2).astype(np.uint8) if ten_bit else arr.copy())
    return np.stack(out)


def read_audio_packets(path: str | Path, stream: int = 0) -> list[bytes]:
    """The bytes of every non-empty packet of audio stream number ``stream``, in file order."""
    with av.open(str(path)) as container:
        s = container.streams.audio[stream]
        return [bytes(p) for p in container.demux(s) if p.size]


def read_audio_times(path: str | Path, stream: int = 0) -> list[Fraction]:
    """Presentation time in seconds of every non-empty packet of an audio stream."""
    with av.open(str(path)) as container:
        s = container.streams.audio[stream]
        return [p.pts * s.time_base for p in container.demux(s) if p.size]


def read_audio_codecs(path: str | Path) -> list[str]:
    """Codec names of the audio streams, in order."""
    with av.open(str(path)) as container:
        return [s.codec_context.name for s in container.streams.audio]


def read_rotation(path: str | Path) -> int:
    """Display rotation (degrees counter-clockwise) of the first decoded video frame."""
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            return int(round(frame.rotation))
    return 0


def read_metadata(path: str | Path) -> dict[str, str]:
    """Container-level metadata tags."""
    with av.open(str(path)) as container:
        return dict(container.metadata)


def read_video_info(path: str | Path) -> dict:
    """Codec, pix_fmt, width, height and frame count of the first video stream (decoded)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "frames": len(frames),
            "interlaced": any(f.interlaced_frame for f in frames),
        }


def read_subtitle_packets(path: str | Path) -> list[tuple[bytes, Fraction | None, Fraction]]:
    """``(payload, start s, duration s)`` of each packet of the first subtitle stream."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        return [
            (bytes(p), None if p.pts is None else p.pts * p.time_base, p.duration * p.time_base)
            for p in container.demux(stream)
            if p.size
        ]


# --------------------------------------------------------------------------- archival media


def deep_luma(frames: int, size: tuple[int, int], bits: int, *, full_range: bool = False
              ) -> np.ndarray:
    """Moving gradients that use every bit of a ``bits``-deep luma code (not 8-bit << n).

    Returns:
        ``(frames, H, W)`` uint16 codes, limited range (16..235 scaled) unless full_range.
    """
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    top = (1 << bits) - 1
    lo, hi = (0, top) if full_range else (16 << (bits - 8), 235 << (bits - 8))
    out = []
    for i in range(frames):
        t = (np.sin(xx / 7.0 + i * 0.3) + np.cos(yy / 5.0 - i * 0.2)) / 4.0 + 0.5
        out.append(np.round(lo + t * (hi - lo)).astype(np.uint16))
    return np.stack(out)


def make_deep_clip(
    path: str | Path,
    *,
    codec: str = "ffv1",
    pix_fmt: str = "yuv420p10le",
    frames: int = 6,
    size: tuple[int, int] = (64, 48),
    timecode: str | None = "01:02:03:04",
    colorspace: int = 1,
    primaries: int = 1,
    trc: int = 1,
    color_range: int = 1,
    options: dict[str, str] | None = None,
    rate: int | Fraction = 24,
    interlace: str | None = None,
) -> tuple[Path, np.ndarray]:
    """Write a clip whose Y plane uses its full bit depth, tagged with colour and timecode.

    ``interlace`` ``"tff"``/``"bff"`` flags every frame (FFmpeg's ``setfield``) and tags
    the stream with that field order (give the codec its field-coding option, e.g.
    ``+ildct`` for ProRes).

    The container follows the extension (``.mkv``, ``.mov``, ``.mxf`` ...); ``color_range``
    2 writes full-range codes (0 .. 2**bits - 1), 1 limited.

    Returns:
        ``(path, luma)``: the file and the ``(frames, H, W)`` uint16 Y codes written.
    """
    path = Path(path)
    fmt = av.VideoFormat(pix_fmt)
    bits = fmt.components[0].bits
    luma = deep_luma(frames, size, bits, full_range=color_range == 2)
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = dict(options or {})
        ctx = stream.codec_context
        ctx.color_range, ctx.colorspace = color_range, colorspace
        ctx.color_primaries, ctx.color_trc = primaries, trc
        if timecode:
            stream.metadata["timecode"] = timecode
        mark = None
        if interlace:
            ctx.field_order = 2 if interlace == "tff" else 3
            graph = av.filter.Graph()
            buffer = graph.add_buffer(width=width, height=height, format=pix_fmt,
                                      time_base=Fraction(1, 1000))
            field, sink = graph.add("setfield", interlace), graph.add("buffersink")
            buffer.link_to(field)
            field.link_to(sink)
            graph.configure()

            def mark(frame):
                graph.push(frame)
                return graph.pull()
        for i in range(frames):
            frame = av.VideoFrame(width, height, pix_fmt)
            dtype = np.uint8 if bits <= 8 else np.uint16
            _fill_plane(frame.planes[0], luma[i].astype(dtype))
            cw, ch = fmt.chroma_width(width), fmt.chroma_height(height)
            for plane in frame.planes[1:]:
                _fill_plane(plane, np.full((ch, cw), 1 << (bits - 1), dtype))
            frame.pts = i
            frame.color_range = color_range
            if mark is not None:
                frame = mark(frame)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path, luma


def read_prores_interlace_modes(path: str | Path) -> set[int]:
    """The ``interlace_mode`` of every ProRes frame header (0 progressive, 1 top field
    first, 2 bottom), read from the packets' bytes: ``icpf``, then byte 20's bits 2-3."""
    modes = set()
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            data = bytes(packet)
            if len(data) > 20:
                assert data[4:8] == b"icpf"
                modes.add((data[20] >> 2) & 3)
    return modes


def read_deep(path: str | Path) -> dict:
    """An independent PyAV read: raw Y codes, pixel format, depth, colour tags, timecode.

    Returns:
        ``{"y": (N, H, W) uint16 codes as stored, "pix_fmt", "bits", "range",
        "colorspace", "primaries", "trc", "timecode", "codec", "profile", "field_order"
        (AVFieldOrder), "interlaced" (the first frame's flag)}``.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        header = (ctx.colorspace, ctx.color_primaries, ctx.color_trc)  # before decoding
        timecode = None
        for tags in [container.metadata] + [s.metadata for s in container.streams]:
            for key, value in tags.items():
                if key.lower() == "timecode":
                    timecode = value
        ys, first = [], None
        for frame in container.decode(stream):
            first = first or frame
            plane = frame.planes[0]
            bits = frame.format.components[0].bits
            dtype = np.uint8 if bits <= 8 else np.uint16
            arr = np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, : frame.width]
            ys.append(arr.astype(np.uint16))

        def tag(frame_value, stream_value) -> int:  # the frame's, else the container's
            return int(stream_value) if int(frame_value) == 2 else int(frame_value)

        return {"y": np.stack(ys), "pix_fmt": first.format.name, "bits": bits,
                "range": int(first.color_range),
                "colorspace": tag(first.colorspace, header[0]),
                "primaries": tag(first.color_primaries, header[1]),
                "trc": tag(first.color_trc, header[2]),
                "timecode": timecode, "codec": stream.codec_context.name,
                "profile": stream.codec_context.profile,
                "field_order": int(getattr(ctx, "field_order", 0) or 0),
                "interlaced": bool(first.interlaced_frame)}


def make_image_sequence(folder: str | Path, *, ext: str = ".png", frames: int = 5,
                        start: int = 100, size: tuple[int, int] = (64, 48), digits: int = 6,
                        skip: int | None = None) -> tuple[Path, np.ndarray]:
    """Write a numbered 16-bit gray scan with OpenCV (PNG or TIFF), as 3-channel images.

    Args:
        skip: a frame number left out (a gap), or None.

    Returns:
        ``(folder, luma)``: the folder and the ``(frames, H, W)`` uint16 values written.
    """
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    luma = deep_luma(frames, size, 16, full_range=True)
    for i, y in enumerate(luma):
        if start + i != skip:
            cv2.imwrite(str(folder / f"{start + i:0{digits}d}{ext}"), np.repeat(y[..., None], 3, 2))
    return folder, luma


def with_dpx_timecode(path: str | Path, timecode: int) -> Path:
    """Rewrite an FFmpeg-written DPX with a full 2048-byte header holding a BCD timecode.

    FFmpeg's encoder writes a short header without the television section; this pads it
    to the standard 2048 bytes (image offset and file size updated) and sets byte 1920.
    """
    import struct

    path = Path(path)
    data = bytearray(path.read_bytes())
    order = ">" if data[:4] == b"SDPX" else "<"
    (offset,) = struct.unpack(order + "I", data[4:8])
    header = bytearray(data[:offset]) + bytearray(b"\xff" * (2048 - offset))
    header[4:8] = struct.pack(order + "I", 2048)
    header[16:20] = struct.pack(order + "I", 2048 + len(data) - offset)
    header[1920:1924] = struct.pack(order + "I", timecode)
    path.write_bytes(bytes(header) + bytes(data[offset:]))
    return path


def make_dpx_sequence(folder: str | Path, *, frames: int = 3, start: int = 1,
                      size: tuple[int, int] = (64, 48), timecode: int | None = None
                      ) -> tuple[Path, np.ndarray]:
    """Write a numbered 16-bit gray DPX scan with PyAV's DPX encoder.

    Args:
        timecode: the first frame's BCD timecode (``0xHHMMSSFF``), counted on one frame per
            file (frame digits only: keep them below 24 - frames), or None for no header.

    Returns:
        ``(folder, luma)``: the folder and the ``(frames, H, W)`` uint16 values written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    luma = deep_luma(frames, size, 16, full_range=True)
    for i, y in enumerate(luma):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.repeat(y[..., None], 3, 2)),
                                           format="rgb48le")
        ctx = av.CodecContext.create("dpx", "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "rgb48le", 1
        frame.pts = 0
        path = folder / f"{start + i:06d}.dpx"
        path.write_bytes(b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)]))
        if timecode is not None:
            with_dpx_timecode(path, timecode + (i // 10 << 4 | i % 10))
    return folder, luma


def read_dpx_timecodes(pattern: str | Path, start: int) -> tuple[list[str | None], list[str]]:
    """Two independent reads of a DPX sequence's per-frame timecode.

    Returns:
        ``(ffmpeg, header)``: what PyAV's DPX decoder exports as each frame's
        ``timecode``, and the television header's BCD word read as hex digits
        (``0x01020304`` -> ``"01:02:03:04"``; the drop-frame bit 6 -> ``;``).
    """
    import struct

    pattern = Path(pattern)
    ffmpeg, header = [], []
    with av.open(str(pattern), format="image2", options={"start_number": str(start)}) as c:
        for frame in c.decode(video=0):
            ffmpeg.append(frame.metadata.get("timecode"))
    number = start
    while Path(str(pattern) % number).exists():
        data = Path(str(pattern) % number).read_bytes()
        order = ">" if data[:4] == b"SDPX" else "<"
        (word,) = struct.unpack(order + "I", data[1920:1924])
        digits = f"{word & ~0x40:08x}"
        sep = ";" if word & 0x40 else ":"
        header.append(f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}{sep}{digits[6:8]}")
        number += 1
    return ffmpeg, header


def make_exr_sequence(folder: str | Path, *, frames: int = 3, start: int = 1,
                      size: tuple[int, int] = (64, 48)) -> tuple[Path, np.ndarray]:
    """Write a numbered float EXR gray scan with PyAV's EXR encoder.

    Returns:
        ``(folder, gray)``: the folder and the ``(frames, H, W)`` float32 values in [0, 1].
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    gray = deep_luma(frames, size, 16, full_range=True).astype(np.float32) / 65535.0
    for i, g in enumerate(gray):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.repeat(g[..., None], 3, 2)),
                                           format="gbrpf32le")
        ctx = av.CodecContext.create("exr", "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "gbrpf32le", 1
        frame.pts = 0
        data = b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])
        (folder / f"{start + i:04d}.exr").write_bytes(data)
    return folder, gray
