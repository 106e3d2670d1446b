"""Copying a video's audio and subtitle streams into its colored copy, as the video goes.

:class:`StreamCopier` copies every audio stream packet for packet (same bytes, same pts)
where the output container takes its codec, and transcodes it where it does not (AAC to
Opus for ``.webm``; :class:`_Transcoder`); subtitle streams are copied when the container
takes their format and left out with a warning when it does not (text subtitle formats
do not convert losslessly). :class:`vidcolor.io.encode.VideoWriter` pumps it frame by
frame, so sound is muxed alongside the picture.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidcolor.io.probe import open_input

log = logging.getLogger(__name__)

# Tags a muxer writes itself; copying them would be wrong or duplicated.
SKIP_TAGS = frozenset(
    {"major_brand", "minor_version", "compatible_brands", "encoder", "duration", "handler_name",
     "vendor_id", "_statistics_tags", "_statistics_writing_app", "_statistics_writing_date_utc",
     "number_of_frames", "number_of_bytes", "bps"}
)


class StreamCopier:
    """Copies the input's audio and subtitle streams into the output as video goes.

    Audio the container cannot hold is transcoded; subtitles it cannot hold are left out.
    """

    def __init__(self, src: Path, out, transcode_codec: str):
        self._in = open_input(src)
        self._out = out
        self._map: dict[int, object] = {}
        self._transcoders: dict[int, _Transcoder] = {}
        self.modes: list[str] = []
        self.subtitle_modes: list[str] = []
        supported = out.supported_codecs
        subtitles = []
        for s in self._in.streams.subtitles:
            name = s.codec_context.name if s.codec_context is not None else ""
            if name in supported:
                self._add_copy(s)
                subtitles.append(s)
                self.subtitle_modes.append("copy")
            else:  # text subtitles do not convert losslessly between formats: say so
                log.warning("%s: subtitle stream %d (%s) cannot go into %s; left out",
                            src, s.index, name or "unknown codec", out.format.name)
                self.subtitle_modes.append(f"dropped:{name}")
        streams = list(self._in.streams.audio)
        for s in streams:
            ctx = s.codec_context
            name = ctx.name if ctx is not None else ""
            if name in supported:
                self._add_copy(s)
                self.modes.append("copy")
            else:
                tr = _Transcoder(s, out, transcode_codec)
                self._map[s.index] = tr.stream
                self._transcoders[s.index] = tr
                self.modes.append(f"transcode:{tr.stream.codec_context.name}")
        streams += subtitles
        self._packets = self._in.demux(*streams) if streams else iter(())
        self._pending = None
        self._done = not streams

    def _add_copy(self, stream) -> None:
        """An output stream that takes ``stream``'s packets as they are, with its tags."""
        copy = self._out.add_stream_from_template(stream)
        copy.metadata.update(
            {k: v for k, v in stream.metadata.items() if k.lower() not in SKIP_TAGS}
        )
        self._map[stream.index] = copy

    def pump(self, until_s: float | None) -> None:
        """Mux audio and subtitle packets up to ``until_s`` seconds (None: everything left)."""
        while not self._done:
            packet = self._pending
            self._pending = None
            if packet is None:
                try:
                    packet = next(self._packets)
                except StopIteration:
                    self._done = True
                    break
                except av.FFmpegError:
                    self._done = True  # damaged tail: keep what was copied
                    break
            if packet.dts is None and packet.pts is None:
                if packet.size == 0:
                    continue  # a demuxer flush packet
            t = packet.pts if packet.pts is not None else packet.dts
            if until_s is not None and t is not None and float(t * packet.time_base) > until_s:
                self._pending = packet
                return
            index = packet.stream.index
            if index in self._transcoders:
                self._transcoders[index].feed(packet)
            elif packet.size:
                packet.stream = self._map[index]
                self._out.mux(packet)
        if until_s is None:
            for tr in self._transcoders.values():
                tr.flush()

    def close(self) -> None:
        """Close the input it reads from."""
        self._in.close()


class _Transcoder:
    """Decode one audio stream and encode it with a codec the output container takes."""

    def __init__(self, src_stream, out, codec: str):
        rate = src_stream.codec_context.sample_rate or 48000
        if codec == "libopus":
            rate = 48000  # Opus runs at 48 kHz (others are resampled)
        self.stream = out.add_stream(codec, rate=rate)
        layout = src_stream.codec_context.layout.name if src_stream.codec_context.layout else ""
        self.stream.layout = layout if src_stream.codec_context.channels <= 2 else "stereo"
        for key, value in src_stream.metadata.items():
            if key.lower() not in SKIP_TAGS:
                self.stream.metadata[key] = value
        ctx = self.stream.codec_context
        self._resampler = av.AudioResampler(format=ctx.format.name, layout=ctx.layout, rate=rate)
        self._out = out
        self._fifo = av.AudioFifo()
        self._frame_size = ctx.frame_size or 960
        self._rate = rate
        self._next_pts: int | None = None  # in 1/rate units

    def feed(self, packet) -> None:
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return  # a damaged audio packet is skipped, as a player would
        for frame in frames:
            for resampled in self._resampler.resample(frame):
                self._push(resampled)

    def _push(self, frame) -> None:
        if self._next_pts is None:  # the first sample's time; later ones are counted
            self._next_pts = frame.pts if frame.pts is not None else 0
        elif frame.pts is not None:
            # A timestamp gap in the input is sound the file does not hold: fill it with
            # silence, so what follows stays in sync with the picture.
            missing = frame.pts - (self._next_pts + self._fifo.samples)
            if missing > self._rate // 1000:  # more than 1 ms: not rounding
                self._fifo.write(self._silence(missing, frame))
        frame.pts = None  # the FIFO re-times; input gaps would make it refuse the frame
        self._fifo.write(frame)
        while self._fifo.samples >= self._frame_size:
            self._encode(self._fifo.read(self._frame_size))

    @staticmethod
    def _silence(samples: int, like) -> av.AudioFrame:
        """``samples`` of silence in the format and layout of the frame ``like``."""
        channels = len(like.layout.channels)
        shape = (channels, samples) if like.format.is_planar else (1, samples * channels)
        dtype = like.to_ndarray().dtype
        frame = av.AudioFrame.from_ndarray(np.zeros(shape, dtype), format=like.format.name,
                                           layout=like.layout.name)
        frame.sample_rate = like.sample_rate
        return frame

    def _encode(self, frame) -> None:
        frame.pts = self._next_pts
        frame.time_base = Fraction(1, self._rate)
        self._next_pts += frame.samples
        for packet in self.stream.encode(frame):
            self._out.mux(packet)

    def flush(self) -> None:
        for resampled in self._resampler.resample(None):
            self._push(resampled)
        if self._fifo.samples:
            self._encode(self._fifo.read())
        for packet in self.stream.encode(None):
            self._out.mux(packet)
