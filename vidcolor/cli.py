"""The ``vidcolor`` command line (click).

``vidcolor film.mp4 --keyframe-hints hints/`` colorizes a video; other work is done by
subcommands (``vidcolor shots film.mp4``, ``vidcolor image ...``). The first argument picks:
a subcommand name runs that subcommand, anything else is the input of a video run
(``vidcolor colorize film.mp4`` is the same run, for a file named like a subcommand).

Exit codes: 0 ok, 2 bad input or usage, 1 internal error or unwritable output,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Every vidcolor error is printed as one
line on stderr, without a traceback.
"""

from __future__ import annotations

import os

# Before anything imports torch: OpenMP threads must not spin beside decode/encode threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Before anything imports cv2: OpenCV's own warnings would add lines to our one-line errors.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from vidcolor import (
    __version__,  # noqa: E402
    api,  # noqa: E402 - the CLI reaches the core only through the API
)
from vidcolor.errors import Cancelled, InputError, OutputError, VidcolorError  # noqa: E402

# Defaults shown by --help and the allowed values come from vidcolor.options (through the
# API), never restated here; range checks happen once, in api.build_options.
_D = api.DEFAULTS
_DEVICES = list(api.DEVICES)
_ENGINES = list(api.ENGINES)
_CHROMA = list(api.CHROMA)
_BACKENDS = list(api.BACKENDS)

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
DEFAULT_COMMAND = "colorize"


class DefaultGroup(click.Group):
    """A click group that runs ``colorize`` when the first argument is not a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert the default command unless the first argument names a subcommand."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names \
                and args[0] != "--version":
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Show both forms."""
        formatter.write_usage(ctx.command_path, "INPUT [OPTIONS]   (a video run)")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...")


class _StderrHandler(logging.Handler):
    """Log records as ``vidcolor: warning: ...`` lines on the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"vidcolor: {record.levelname.lower()}: {record.getMessage()}",
                       err=True)
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


def _setup_logging() -> None:
    logger = logging.getLogger("vidcolor")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _fail(exc: VidcolorError, progress: Any = None) -> None:
    code = exc.exit_code if isinstance(exc.exit_code, int) else EXIT_INTERNAL
    if progress is not None:
        progress.error(exc.one_line(), code)
    click.echo(f"vidcolor: error: {exc.one_line()}", err=True)
    sys.exit(code)


def _guard(fn: Callable[[], Any]) -> Any:
    """Run ``fn``, turning vidcolor errors into one line and an exit code."""
    try:
        return fn()
    except VidcolorError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("vidcolor: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="vidcolor")
def cli() -> None:
    """Colorize black-and-white film from a few color hints.

    \b
    vidcolor film.mp4 --keyframe-hints hints/ -o film_color.mp4
    vidcolor shots film.mp4
    vidcolor hints template film.mp4 -o hints/ --every-shot
    """  # noqa: D301 - \b is click's "do not rewrap" marker
    _setup_logging()


# --------------------------------------------------------------------------- colorize


class _Signals:
    """Turn SIGINT/SIGTERM into a clean stop of the run (the output is not left behind)."""

    def __init__(self, token: Any):
        self.token = token
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt  # a second signal: stop now
        name = "interrupted" if signum == signal.SIGINT else "terminated"
        self.token.cancel(name, signum)

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


@cli.command(DEFAULT_COMMAND)
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--keyframe-hints", "hints_dir", type=click.Path(path_type=Path),
              help="Directory of hint files (<frame>.json, <frame>.png).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output video; default <stem>_color<suffix>. Extension picks the container.")
@click.option("--device", type=click.Choice(_DEVICES), default=_D.model.device,
              show_default=True)
@click.option("--batch-size", type=int, default=_D.model.batch_size, show_default=True)
@click.option("--backend", type=click.Choice(_BACKENDS), default=_D.model.backend,
              show_default=True,
              help="What runs the network: torch, or OpenVINO on the CPU (the openvino "
                   "extra); auto picks OpenVINO on the CPU when installed.")
@click.option("--weights", default=_D.model.weights, show_default=True,
              help="Registry name or .safetensors path.")
@click.option("--working-size", type=int, default=_D.model.working_size, show_default=True,
              help="Shorter side, in pixels, at which the network sees frames (multiple of 8).")
@click.option("--codec", default=_D.encode.codec,
              help="ffv1, prores, x264, x265, vp9, dnxhd (or a PyAV name); default per "
                   "container.")
@click.option("--crf", type=int, default=_D.encode.crf, show_default=True)
@click.option("--lossless", is_flag=True, help="Lossless output: FFV1 in .mkv, x264 qp 0 in .mp4.")
@click.option("--chroma", type=click.Choice(_CHROMA), default=_D.encode.chroma,
              help="Output chroma subsampling; default the source's (RGB scans: 444) where "
                   "the codec allows.")
@click.option("--fps", default=str(_D.fps), show_default=True,
              help="Frame rate of an image-sequence input (24, 23.976, 24000/1001).")
@click.option("--temporal/--no-temporal", default=_D.temporal.enabled, show_default=True,
              help="Flow-guided flicker removal.")
@click.option("--temporal-strength", type=float, default=_D.temporal.strength,
              show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its last shot.")
@click.option("--strict", is_flag=True, help="Fail on a damaged frame instead of filling it.")
@click.option("--progress", "progress_kind", type=click.Choice(["bar", "jsonl", "none"]),
              default=None, help="Progress display; default bar on a terminal, else none.")
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Also write the run report as JSON to this file.")
@click.option("--engine", type=click.Choice(_ENGINES), default=_D.engine.kind,
              show_default=True, help="Where shots are colorized: here, or on a Ray cluster.")
@click.option("--address", default=_D.engine.address,
              help="Ray cluster address HOST:PORT (default: RAY_ADDRESS, or this machine's).")
@click.option("--task-retries", type=int, default=_D.engine.task_retries, show_default=True,
              help="Tries again of a shot whose Ray worker died.")
def colorize_cmd(input_path: Path, hints_dir: Path | None, output: Path | None, device: str,
                 batch_size: int, backend: str, weights: str, working_size: int,
                 codec: str | None, crf: int,
                 lossless: bool, chroma: str | None, fps: str,
                 temporal: bool, temporal_strength: float, overwrite: bool, resume: bool,
                 strict: bool, progress_kind: str | None, report_path: Path | None,
                 engine: str, address: str | None, task_retries: int) -> None:
    """Colorize the video INPUT."""
    if progress_kind is None:
        progress_kind = "bar" if sys.stderr.isatty() else "none"
    progress = api.make_progress(progress_kind)
    token = api.CancelToken()
    try:
        options = api.build_options(
            weights=weights, device=device, batch_size=batch_size, working_size=working_size,
            backend=backend, codec=codec, crf=crf, temporal=temporal,
            temporal_strength=temporal_strength,
            overwrite=overwrite, strict=strict, resume=resume, lossless=lossless, chroma=chroma,
            fps=fps,
            engine=engine, address=address, task_retries=task_retries)
        if report_path is not None and not report_path.parent.is_dir():
            raise InputError(f"folder {report_path.parent} does not exist; expected the "
                             "report's folder to exist", path=report_path, field="--report")
        hints = api.load_video_hints(hints_dir) if hints_dir is not None else None
        with _Signals(token):
            try:
                report = api.run_video(input_path, output, hints, options,
                                       progress=progress, cancel=token)
            except KeyboardInterrupt:
                token.cancel("interrupted", token.signum or signal.SIGINT)
                raise Cancelled("interrupted") from None
    except Cancelled as exc:
        code = EXIT_TERMINATED if token.signum == signal.SIGTERM else EXIT_INTERRUPTED
        progress.error(exc.one_line(), code)
        hint = " (rerun with --resume to continue)" if token.signum else ""
        click.echo(f"vidcolor: {exc.one_line()}; no output written{hint}", err=True)
        sys.exit(code)
    except VidcolorError as exc:
        _fail(exc, progress)
    if report.decode_errors_filled:
        click.echo(f"vidcolor: warning: {report.decode_errors_filled} damaged frame(s) filled "
                   "from a neighbour", err=True)
    if report.borrowed:
        pairs = ", ".join(f"shot {k} <- shot {v}" for k, v in sorted(report.borrowed.items()))
        click.echo(f"vidcolor: hints borrowed: {pairs}", err=True)
    if report_path is not None:
        try:
            report_path.write_text(json.dumps(report.to_dict(), indent=1) + "\n")
        except OSError as exc:
            _fail(OutputError(f"cannot write the report ({exc.strerror or exc}); the video "
                              f"was written to {report.output}", path=report_path), progress)
    if progress_kind == "none":
        click.echo(str(report.output))


# --------------------------------------------------------------------------- image


@cli.command("image")
@click.argument("input_path", metavar="IN", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output image (PNG, JPEG ...).")
@click.option("--hints", "hints_file", type=click.Path(path_type=Path),
              help="A hint JSON file, or an RGBA PNG scribble layer.")
@click.option("--device", type=click.Choice(_DEVICES), default=_D.model.device)
@click.option("--weights", default=_D.model.weights, help="Registry name or .safetensors path.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def image_cmd(input_path: Path, output: Path, hints_file: Path | None, device: str,
              weights: str, overwrite: bool) -> None:
    """Colorize one image IN into OUT."""

    def run() -> None:
        written = api.colorize_image_file(input_path, output, hints_file, weights=weights,
                                          device=device, overwrite=overwrite)
        click.echo(str(written))

    _guard(run)


# --------------------------------------------------------------------------- probe, shots


@cli.command("probe")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def probe_cmd(input_path: Path, as_json: bool) -> None:
    """Show what a video file holds."""

    def run() -> None:
        info = api.probe_video(input_path)
        data = {
            "path": str(info.path), "container": info.container, "codec": info.codec,
            "width": info.width, "height": info.height, "frames": info.frame_count,
            "fps": float(info.average_rate) if info.average_rate else None,
            "time_base": str(info.time_base), "duration": info.duration,
            "rotation": info.rotation, "pix_fmt": info.pix_fmt, "bit_depth": info.bit_depth,
            "full_range": info.full_range, "colorspace": info.colorspace_name,
            "interlaced": info.interlaced,
            "audio": [{"index": a.index, "codec": a.codec, "sample_rate": a.sample_rate,
                       "channels": a.channels} for a in info.audio],
            "metadata": info.metadata,
        }
        if as_json:
            click.echo(json.dumps(data, indent=1))
            return
        for key, value in data.items():
            click.echo(f"{key:<11} {value}")

    _guard(run)


def _timecode(seconds: float, fps: float | None) -> str:
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    frames = int(round((s - int(s)) * fps)) if fps else 0
    return f"{int(h):02d}:{int(m):02d}:{int(s):02d}:{frames:02d}"


@cli.command("shots")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def shots_cmd(input_path: Path, as_json: bool) -> None:
    """List the shots (hard cuts) of a video: first frame and timecode of each."""

    def run() -> None:
        found = api.find_shots(input_path)
        if as_json:
            click.echo(json.dumps(found, indent=1))
            return
        for shot in found["shots"]:
            click.echo(f"shot {shot['shot']:>3}  frames {shot['start']:>6}-{shot['stop'] - 1:<6}"
                       f"  {shot['timecode']}  ({shot['seconds']:.3f} s)")

    _guard(run)


# --------------------------------------------------------------------------- hints template


@cli.group("hints")
def hints_group() -> None:
    """Work with hint files."""


@hints_group.command("template")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Hints directory to create or fill.")
@click.option("--every-shot", is_flag=True,
              help="The first frame of every shot (the default without --frames).")
@click.option("--frames", "frame_list", default=None, help="Comma-separated frame indices.")
def hints_template_cmd(input_path: Path, output: Path, every_shot: bool,
                       frame_list: str | None) -> None:
    """Export frames to paint on, with empty hint files, into a hints directory.

    Writes <frame>.json (no points yet) and frames/<frame>.png (the picture, to paint a
    transparent <frame>.png scribble layer over in any image editor).
    """

    def run() -> None:
        if every_shot and frame_list:
            raise InputError("give --every-shot or --frames, not both", field="--frames")
        frames = None
        if frame_list:
            try:
                frames = sorted({int(x) for x in frame_list.split(",") if x.strip()})
            except ValueError:
                raise InputError(f"found {frame_list!r}; expected comma-separated integers",
                                 field="--frames") from None
            if any(f < 0 for f in frames):
                raise InputError(f"found {frame_list!r}; expected indices >= 0",
                                 field="--frames")
        written = api.export_hint_templates(input_path, output, frames=frames)
        for path in written:
            click.echo(str(path))

    _guard(run)


# --------------------------------------------------------------------------- weights


@cli.group("weights")
def weights_group() -> None:
    """List, import or download network weights."""


@weights_group.command("list")
def weights_list_cmd() -> None:
    """List the known weights and whether their file is present."""

    def run() -> None:
        for name, path in api.list_weights():
            click.echo(f"{name:<28} {path if path is not None else 'missing'}")

    _guard(run)


@weights_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Registry name to give it.")
def weights_import_cmd(path: Path, name: str | None) -> None:
    """Import a weights file (.safetensors, or the official siggraph17 .pth) by name."""

    def run() -> None:
        click.echo(api.import_weights(path, name))

    _guard(run)


@weights_group.command("download")
@click.argument("url")
@click.option("--sha256", required=True, help="Expected sha256 of the file (64 hex digits).")
@click.option("--name", required=True, help="Registry name to give the weights.")
def weights_download_cmd(url: str, sha256: str, name: str) -> None:
    """Download weights from URL into the user cache and register them as NAME.

    The only command that uses the network. The file (an official siggraph17 .pth, or a
    vidcolor .safetensors) is streamed to a temp file, checked against --sha256, then kept.
    """

    def run() -> None:
        found_name, digest = api.download_weights(url, sha256, name)
        click.echo(f"{found_name}  {digest}")

    _guard(run)


# --------------------------------------------------------------------------- suggest


def _fractions(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"found {text!r}, expected X,Y fractions such as 0.5,0.25",
                         field="--at") from None
    return x, y


@cli.command("suggest")
@click.argument("image_path", metavar="IMAGE", type=click.Path(path_type=Path))
@click.option("--at", "at", required=True,
              help="X,Y of the point as fractions of width and height (as in hint files).")
@click.option("--hints", "hints_file", type=click.Path(path_type=Path),
              help="The current hints: a hint JSON file or an RGBA PNG scribble layer.")
@click.option("-k", "k", type=click.IntRange(1, 529), default=5, show_default=True,
              help="How many colors.")
@click.option("--device", type=click.Choice(_DEVICES), default=_D.model.device)
@click.option("--weights", default=_D.model.weights, help="Registry name or .safetensors path.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def suggest_cmd(image_path: Path, at: str, hints_file: Path | None, k: int, device: str,
                weights: str, as_json: bool) -> None:
    """Print the k most likely colors at a point of IMAGE, given the current hints."""

    def run() -> None:
        x, y = _fractions(at)
        colors = api.Colorizer(weights, device).suggest_colors(image_path, x, y, hints_file, k)
        if as_json:
            click.echo(json.dumps([{"ab": list(c.ab), "rgb": c.rgb_hex,
                                    "probability": round(c.probability, 6)} for c in colors]))
            return
        for c in colors:
            click.echo(f"{c.rgb_hex}  a={c.ab[0]:+6.1f} b={c.ab[1]:+6.1f}  p={c.probability:.3f}")

    _guard(run)


# --------------------------------------------------------------------------- studio


@cli.command("studio")
@click.argument("input_path", metavar="FILM", type=click.Path(path_type=Path))
@click.option("--hints", "hints_dir", type=click.Path(path_type=Path),
              help="Hints folder to edit (created if missing); default <stem>_hints beside "
                   "the film.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Where the Render button writes; default <stem>_color.mp4 beside the film.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@click.option("--device", type=click.Choice(_DEVICES), default=_D.model.device,
              show_default=True)
@click.option("--weights", default=_D.model.weights, show_default=True,
              help="Registry name or .safetensors path.")
@click.option("--working-size", type=int, default=_D.model.working_size, show_default=True,
              help="Shorter side, in pixels, at which the network sees frames (multiple of 8).")
@click.option("--temporal/--no-temporal", default=_D.temporal.enabled, show_default=True,
              help="Flow-guided flicker removal in renders and shot playback.")
def studio_cmd(input_path: Path, hints_dir: Path | None, output: Path | None, port: int,
               no_browser: bool, device: str, weights: str, working_size: int,
               temporal: bool) -> None:
    """Open a local web page to paint hints on FILM and watch it recolor live.

    The first line on stdout is the page's address with its token:

    \b
    vidcolor studio: http://127.0.0.1:PORT/?token=TOKEN
    """  # noqa: D301 - \b is click's "do not rewrap" marker

    def run() -> None:
        api.serve_studio(input_path, hints_dir, port=port, open_browser=not no_browser,
                         output=output, device=device, weights=weights,
                         working_size=working_size, temporal=temporal)

    _guard(run)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: ``vidcolor``."""
    try:
        cli.main(args=argv, prog_name="vidcolor", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - click turns it into Abort
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
