"""Which container takes which codec, and which pixel format a codec writes for a source.

Pure tables and rules, no I/O: :func:`resolve_codec` turns a user's codec name
(``ffv1``, ``prores``, ``x264`` ...) into the FFmpeg encoder, :func:`check_output_format`
refuses a container x codec combination that cannot work (before any work starts), and
:func:`output_pix_fmt` keeps the source's bit depth and chroma subsampling wherever the
codec allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av

from vidcolor.errors import InputError

# User names -> FFmpeg encoder. An FFmpeg encoder name is accepted as itself.
CODEC_ALIASES = {
    "x264": "libx264", "h264": "libx264", "libx264": "libx264",
    "x265": "libx265", "hevc": "libx265", "h265": "libx265", "libx265": "libx265",
    "ffv1": "ffv1",
    "prores": "prores_ks", "prores_ks": "prores_ks",
    "vp9": "libvpx-vp9", "libvpx-vp9": "libvpx-vp9",
    "dnxhd": "dnxhd", "dnxhr": "dnxhd",
}

# Output extension -> (FFmpeg muxer, default video encoder, audio encoder for transcoding,
# the video encoders it takes).
_ALL = ("libx264", "libx265", "ffv1", "prores_ks", "libvpx-vp9", "dnxhd")
CONTAINERS = {
    ".mp4": ("mp4", "libx264", "aac", ("libx264", "libx265", "libvpx-vp9")),
    ".m4v": ("mp4", "libx264", "aac", ("libx264", "libx265")),
    ".mkv": ("matroska", "libx264", "libopus",
             ("libx264", "libx265", "ffv1", "prores_ks", "libvpx-vp9")),
    ".mov": ("mov", "libx264", "aac", ("libx264", "libx265", "prores_ks", "dnxhd")),
    ".webm": ("webm", "libvpx-vp9", "libopus", ("libvpx-vp9",)),
}

#: Codecs that can be lossless, and how (``--lossless``).
LOSSLESS = {"ffv1": {}, "libx264": {"qp": "0"}, "libx265": {"x265-params": "lossless=1"},
            "libvpx-vp9": {"lossless": "1"}}
#: The codec ``--lossless`` picks per container when no codec is given.
LOSSLESS_DEFAULT = {".mkv": "ffv1", ".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264",
                    ".webm": "libvpx-vp9"}

_DEPTHS = (8, 9, 10, 12, 14, 16)
_SUBSAMPLING = re.compile(r"^yuv[aj]?(4[0-4][0-4]|41[01])p")


@dataclass(frozen=True)
class OutputFormat:
    """What the writer writes for one output file.

    Attributes:
        suffix: the output's extension, lower case (``".mkv"``).
        muxer: the FFmpeg muxer name.
        codec: the FFmpeg video encoder.
        audio_codec: the encoder for audio the container cannot take as it is.
        lossless: the codec runs lossless (``--lossless``, or FFV1 which always is).
    """

    suffix: str
    muxer: str
    codec: str
    audio_codec: str
    lossless: bool


def resolve_codec(name: str | None) -> str | None:
    """The FFmpeg encoder for a user's codec name (``prores`` -> ``prores_ks``); None stays."""
    if name is None:
        return None
    return CODEC_ALIASES.get(str(name).lower(), str(name))


def check_output_format(dst: str | Path, codec: str | None, lossless: bool = False,
                        chroma: str | None = None) -> OutputFormat:
    """Refuse a container x codec combination that cannot work; pure, call it up front.

    Args:
        dst: the output file (its extension picks the container).
        codec: the user's codec name or None for the container's default.
        lossless: ``--lossless``: FFV1 in ``.mkv``, x264 qp 0 in ``.mp4``/``.mov``.
        chroma: ``--chroma`` (``"420"`` ...), or None.

    Returns:
        The :class:`OutputFormat`.

    Raises:
        InputError: an unknown extension, a codec the container cannot take, a lossy-only
            codec with ``lossless``, or a ``chroma`` the codec does not write (one line:
            file, field, found, expected).
    """
    dst = Path(dst)
    suffix = dst.suffix.lower()
    if suffix not in CONTAINERS:
        raise InputError(f"unsupported output extension {suffix or '(none)'!r} (expected one "
                         f"of {', '.join(CONTAINERS)})", path=dst, field="output")
    muxer, default, audio, takes = CONTAINERS[suffix]
    chosen = resolve_codec(codec)
    if chosen is None:
        chosen = LOSSLESS_DEFAULT[suffix] if lossless else default
    if chosen not in takes:
        known = chosen in _ALL
        what = f"codec {codec!r}" + ("" if known else " is not one vidcolor writes and")
        raise InputError(
            f"found {what} in a {suffix} file; expected one of "
            f"{', '.join(_user_name(c) for c in takes)} (see the container table in the "
            "README)", path=dst, field="codec")
    if lossless and chosen not in LOSSLESS:
        raise InputError(
            f"found --lossless with codec {_user_name(chosen)}, which is lossy only; expected "
            f"one of {', '.join(_user_name(c) for c in LOSSLESS if c in takes)} for "
            f"{suffix}", path=dst, field="codec")
    if chroma is not None and not any(f.startswith(f"yuv{chroma}p")
                                      for f in encoder_formats(chosen)):
        have = sorted({_layout(m.group(1)) for m in map(_SUBSAMPLING.match,
                                                       encoder_formats(chosen)) if m})
        raise InputError(f"found --chroma {chroma} with codec {_user_name(chosen)}; expected "
                         f"one of {', '.join(have)} for it", path=dst, field="chroma")
    return OutputFormat(suffix, muxer, chosen, audio, lossless or chosen == "ffv1")


def _user_name(codec: str) -> str:
    return {"libx264": "x264", "libx265": "x265", "prores_ks": "prores",
            "libvpx-vp9": "vp9"}.get(codec, codec)


@lru_cache(maxsize=32)
def encoder_formats(codec: str) -> frozenset[str]:
    """The pixel formats the FFmpeg encoder ``codec`` takes (empty if unknown)."""
    try:
        formats = av.Codec(codec, "w").video_formats or ()
    except (ValueError, av.FFmpegError):
        return frozenset()
    return frozenset(f.name for f in formats)


def source_layout(pix_fmt: str, bit_depth: int) -> tuple[str, int]:
    """The chroma subsampling (``"420"``, ``"422"``, ``"444"`` ...) and depth of a source.

    RGB sources (scans: 16-bit PNG/TIFF, DPX, EXR) hold every sample of every pixel, so
    they count as ``"444"``. Gray sources have no chroma at all; they count as ``"420"``
    (the usual delivery layout).
    """
    m = _SUBSAMPLING.match(pix_fmt)
    if m is not None:
        return m.group(1), int(bit_depth or 8)
    return ("444" if _is_rgb(pix_fmt) else "420"), int(bit_depth or 8)


def _is_rgb(pix_fmt: str) -> bool:
    try:
        return bool(av.VideoFormat(pix_fmt).is_rgb)
    except (ValueError, av.FFmpegError):
        return False


def yuv_name(subsampling: str, depth: int) -> str:
    """``yuv<sub>p`` for 8 bits, ``yuv<sub>p<depth>le`` deeper."""
    return f"yuv{subsampling}p" if depth <= 8 else f"yuv{subsampling}p{depth}le"


def output_pix_fmt(codec: str, width: int, height: int, src_pix_fmt: str = "yuv420p",
                   src_depth: int = 8, chroma: str | None = None) -> str:
    """The pixel format written: the source's subsampling and depth where the codec allows.

    Depth: the smallest the codec takes that is at least the source's, else its deepest
    (ProRes and DNxHR write 10 bits from an 8-bit source; x264 writes 10 bits from 12).
    Subsampling: the source's, else the next richer one the codec takes (ProRes has no
    4:2:0, so 4:2:0 sources become 4:2:2). x264/x265 refuse 4:2:0 (4:2:2) at an odd
    height or width (odd width); there the output is 4:4:4 (every pixel keeps its chroma).
    ``chroma`` (``--chroma``) asks for a subsampling instead of the source's, as it is.

    Args:
        codec: the FFmpeg encoder.
        width: picture width.
        height: picture height.
        src_pix_fmt: the decoded source's pixel format.
        src_depth: the source's bits per luma sample.
        chroma: ``"420"``, ``"422"`` or ``"444"`` to override the source's, or None.

    Returns:
        An FFmpeg planar YUV pixel format name, e.g. ``"yuv422p10le"``.
    """
    sub, depth = source_layout(src_pix_fmt, src_depth)
    if chroma is not None:
        sub = chroma
    elif codec in ("libx264", "libx265"):
        if (width % 2 and sub in ("420", "422")) or (height % 2 and sub == "420"):
            sub = "444"
    takes = encoder_formats(codec)
    richer = {"420": ("420", "422", "444"), "422": ("422", "444"), "444": ("444",),
              "440": ("440", "444"), "411": ("411", "422", "444"), "410": ("420", "444")}
    for s in richer.get(sub, ("420", "444")):
        fits = [d for d in _DEPTHS if yuv_name(s, d) in takes]
        if fits:
            deeper = [d for d in fits if d >= depth]
            return yuv_name(s, deeper[0] if deeper else fits[-1])
    return "yuv420p"


#: Encoders whose bitstream has no full-range flag: the picture is video (limited) range by
#: definition, so a full-range source is written as limited-range codes (FFmpeg's ProRes
#: decoder reads every ProRes frame as limited range).
LIMITED_RANGE_ONLY = frozenset({"prores_ks"})

#: Smallest picture (width, height) an encoder takes, where FFmpeg's refusal names nothing.
MIN_PICTURE = {"dnxhd": (256, 120)}  # DNxHR (libavcodec/dnxhdenc.c)
#: A user's name for the profiles vidcolor writes, by encoder.
_PROFILE_NAMES = {"dnxhd": "DNxHR", "prores_ks": "ProRes"}


def check_encoder_limits(dst: str | Path, codec: str, width: int, height: int,
                         pix_fmt: str) -> None:
    """Refuse a picture the encoder cannot take (size, pixel format); pure, before any work.

    Raises:
        InputError: one line naming the output, what was found and what was expected.
    """
    name = _user_name(codec)
    low = MIN_PICTURE.get(codec)
    if low is not None and (width < low[0] or height < low[1]):
        raise InputError(
            f"found a {width}x{height} picture; {_PROFILE_NAMES.get(codec, name)} needs at "
            f"least {low[0]}x{low[1]} (expected a larger picture, or --codec prores or ffv1)",
            path=dst, field="codec")
    sub = source_layout(pix_fmt, 8)[0]
    if codec in ("libx264", "libx265") and ((width % 2 and sub in ("420", "422"))
                                            or (height % 2 and sub == "420")):
        raise InputError(
            f"found a {width}x{height} picture; {name} {_layout(sub)} needs an even "
            f"{'width' if sub == '422' else 'width and height'} (expected --chroma 444, or "
            "the source's subsampling)", path=dst, field="chroma")
    takes = encoder_formats(codec)
    if takes and pix_fmt not in takes:
        raise InputError(
            f"found pixel format {pix_fmt}, which the {name} encoder does not take; expected "
            f"one of {', '.join(sorted(takes))}", path=dst, field="codec")


def layout_notice(suffix: str, codec: str, src_pix_fmt: str, src_depth: int,
                  pix_fmt: str) -> str | None:
    """One line saying where the output keeps less than the source, or plays in fewer places.

    Less depth (the codec's deepest is shallower than the source), or H.264 beyond 8-bit
    4:2:0 in ``.mp4`` (browsers do not play it). Fewer chroma samples than the source's
    happen only when asked for (``--chroma``): every codec vidcolor writes takes the
    source's subsampling or a richer one (:func:`output_pix_fmt`).

    Returns:
        None when the source's depth and subsampling are kept and nothing is unusual.
    """
    depth = source_layout(src_pix_fmt, src_depth)[1]
    out_sub, out_depth = source_layout(pix_fmt, pix_fmt_depth(pix_fmt))
    notes = []
    if out_depth < depth:
        notes.append(f"the {_user_name(codec)} encoder takes at most {out_depth} bits, so "
                     f"the {depth}-bit source is written at {out_depth} bits")
    if codec == "libx264" and suffix in (".mp4", ".m4v") and pix_fmt != "yuv420p":
        notes.append(f"H.264 {_layout(out_sub)} at {out_depth} bits ({pix_fmt}) plays in "
                     "editors, VLC and mpv but not in most web browsers (they take 8-bit "
                     "4:2:0: --chroma 420 with an 8-bit source)")
    return "; ".join(notes) if notes else None


def _layout(sub: str) -> str:
    return f"{sub[0]}:{sub[1]}:{sub[2]}"


def pix_fmt_depth(pix_fmt: str) -> int:
    """Bits per luma sample of a pixel format."""
    fmt = av.VideoFormat(pix_fmt)
    return fmt.components[0].bits if fmt.components else 8


def codec_options(fmt: OutputFormat, pix_fmt: str, crf: int, *, preset: str,
                  tune: str | None, interlaced: bool) -> dict[str, str]:
    """The encoder options for one output (profiles, quality, lossless).

    * x264/x265: ``crf`` (or lossless: qp 0 / ``lossless=1``), ``preset``, ``tune``;
      interlaced sources keep field coding in x264.
    * FFV1: level 3, slice CRCs, 4 slices, every frame a keyframe (archival practice).
    * ProRes: 422 HQ, or 4444 for a 4:4:4 picture; interlaced sources keep field coding.
    * DNxHR: HQX (10-bit 4:2:2), 444 for 4:4:4, HQ at 8 bits.
    * VP9: constant quality at ``crf`` (or lossless).
    """
    codec, crf_s = fmt.codec, str(crf)
    depth = pix_fmt_depth(pix_fmt)
    is444 = pix_fmt.startswith("yuv444")
    if codec in ("libx264", "libx265"):
        opts = {"preset": preset}
        if fmt.lossless:
            opts.update(LOSSLESS[codec])
        else:
            opts["crf"] = crf_s
            if tune:
                opts["tune"] = tune
        if codec == "libx265":
            params = ["log-level=error"] + (["lossless=1"] if fmt.lossless else [])
            opts["x265-params"] = ":".join(params)
        if interlaced and codec == "libx264":
            opts["x264-params"] = "interlaced=1"  # keep field coding and the flag
        return opts
    if codec == "ffv1":
        return {"level": "3", "slicecrc": "1", "slices": "4", "g": "1"}
    if codec == "prores_ks":
        opts = {"profile": "4" if is444 else "3", "vendor": "apl0"}
        if interlaced:
            opts["flags"] = "+ildct"  # code the two fields (order: vidcolor.io.fields)
        return opts
    if codec == "dnxhd":
        profile = "dnxhr_444" if is444 else ("dnxhr_hqx" if depth > 8 else "dnxhr_hq")
        return {"profile": profile}
    if codec in ("libvpx-vp9", "libvpx"):
        if fmt.lossless:
            return {"lossless": "1", "deadline": "good", "cpu-used": "4", "row-mt": "1"}
        return {"crf": crf_s, "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}
    if codec in ("libaom-av1", "libsvtav1"):
        return {"crf": crf_s}
    return {}
