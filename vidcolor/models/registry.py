"""Named weights and the preprocessing contract each was trained with.

A :class:`WeightsEntry` says which file holds a model, its full sha256, its license and
source, and everything needed to run it the way it was trained: the architecture's width
multiplier and extra inputs, the L/ab/mask normalisation and the working size.

Two kinds of entries:

* **built-in** entries, in code (:func:`builtin_entries`), for files shipped in the project's
  ``weights/`` folder. That folder is found next to the package in a source checkout
  (``<repo>/weights``) and at ``<sys.prefix>/share/vidcolor/weights`` in an installed
  package (``[options.data_files]`` in ``setup.cfg``); ``$VIDCOLOR_WEIGHTS_DIR`` overrides both.
* **user** entries (imported or downloaded weights), kept in the user cache
  (``$XDG_CACHE_HOME/vidcolor``, else ``~/.cache/vidcolor``; always an absolute path, never
  relative to the working directory): files in ``weights/`` there, described by the small JSON
  index ``weights/index.json``.

Nothing here loads tensors; :mod:`vidcolor.models.weights` does, checking the sha256 first.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vidcolor.atomic import write_bytes
from vidcolor.errors import WeightsError
from vidcolor.models.propagate import CHANNELS as PROPAGATION_CHANNELS

DEFAULT_NAME = "vidcolor-siggraph17-q"
DEFAULT_ALIAS = "default"
SHIPPED_FILE = "vidcolor-siggraph17-q.safetensors"

# The full sha256 of weights/vidcolor-siggraph17-q.safetensors. Update it whenever that file
# is replaced (tests/test_weights.py fails until it matches); a file that does not match is
# never loaded. Currently: run film1 (issue 12 item 4), 900 steps of film-augmented
# fine-tuning warm-started from q3's trunk with run headv3's version-2 palette head (the file
# of commit 457012f, sha256 9cd25802...).
SHIPPED_SHA256 = "3170df2fa624a4dccd821d73de8138762745508f82ef9e92d88219da87fb0578"
# The hint-propagation settings the shipped weights were trained with (written explicitly,
# so a later change of the library defaults cannot silently change what the network sees).
SHIPPED_PROPAGATION = (
    ("blend_mass", 1e-3),
    ("floor", 1e-6),
    ("global_lambda", 3000.0),
    ("global_sigma", 32.0),
    ("local_lambda", 100.0),
    ("local_sigma", 8.0),
)

INDEX_VERSION = 1
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCATIONS = ("package", "cache", "path")
EXTRA_KINDS = (None, "propagation")
CLASS_HEAD_VERSIONS = (1, 2)  # vidcolor.models.siggraph17.HEAD_VERSIONS


@dataclass(frozen=True)
class WeightsEntry:
    """One named set of weights and how to feed the network it belongs to.

    Attributes:
        name: registry name (letters, digits, ``.``, ``_``, ``-``).
        file: file name, relative to the shipped ``weights/`` folder (``location="package"``)
            or to the user cache's ``weights/`` folder (``location="cache"``); an absolute
            path for a file the user named directly (``location="path"``).
        sha256: full lowercase hex sha256 of that file; checked before every load.
        license: license of the weights (and of the data they were trained on, if known).
        source: where they come from (training command, URL, imported file).
        location: ``"package"``, ``"cache"`` or ``"path"``.
        width_mult: width multiplier of :class:`~vidcolor.models.siggraph17.SIGGRAPHGenerator`.
        extra_inputs: number of extra input channels after L, ab and mask.
        extra: what the extra channels are: None, or ``"propagation"`` (the channels of
            :func:`vidcolor.models.propagate.propagate_hints`: ab in Lab units, then
            confidences; their number must equal ``extra_inputs``).
        residual: the network adds its output to the propagated ab (needs ``extra``).
        propagation: keyword arguments of ``PropagationParams`` the weights were trained
            with, as ``(name, value)`` pairs; empty for the library defaults.
        l_cent: the network sees ``(L - l_cent) / l_norm``.
        l_norm: see ``l_cent``.
        ab_norm: the network sees ``ab / ab_norm`` and outputs ``tanh * ab_norm``.
        mask_cent: the network sees ``mask - mask_cent`` (mask is 1 at hints, 0 elsewhere).
        working_size: shorter side, in pixels, of the frames the network was trained for.
        size_multiple: both sides are padded to a multiple of this (three 2x downsamplings).
        class_head_trained: whether the 529-way ab-bin head was trained (palette
            suggestions need it).
        class_head_version: 1, the official 1x1 head on the trunk's features (with
            ``residual`` its suggestions ignore the hints); 2, the head that also sees the
            network's chroma and the hints, so its suggestions follow them
            (:class:`~vidcolor.models.siggraph17.SIGGRAPHGenerator`). Files written before
            version 2 existed carry no such field and mean 1.
        description: one line for ``vidcolor weights list``.
    """

    name: str
    file: str
    sha256: str
    license: str
    source: str
    location: str = "package"
    width_mult: float = 1.0
    extra_inputs: int = 0
    extra: str | None = None
    residual: bool = False
    propagation: tuple[tuple[str, float], ...] = field(default=())
    l_cent: float = 50.0
    l_norm: float = 100.0
    ab_norm: float = 110.0
    mask_cent: float = 0.0
    working_size: int = 256
    size_multiple: int = 8
    class_head_trained: bool = False
    class_head_version: int = 1
    description: str = ""

    @property
    def palette_follows_hints(self) -> bool:
        """Whether palette suggestions take the hints into account (a trained v2 head)."""
        return self.class_head_trained and self.class_head_version >= 2

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (``propagation`` as an object)."""
        data = asdict(self)
        data["propagation"] = dict(self.propagation)
        return data

    @classmethod
    def from_json(cls, data: Any, *, path: str | Path | None = None) -> WeightsEntry:
        """Build and validate an entry from :meth:`to_json` output.

        Raises:
            WeightsError: naming ``path`` and the bad field, with the value found and the
                kind of value expected.
        """
        if not isinstance(data, dict):
            raise WeightsError(f"found {type(data).__name__}, expected an object", path=path)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeightsError(
                f"unknown fields {unknown}, expected only {sorted(known)}", path=path
            )
        for key in ("name", "file", "sha256", "license", "source"):
            if not isinstance(data.get(key), str):
                raise WeightsError(
                    f"found {data.get(key)!r}, expected a string", path=path, field=key
                )
        kwargs = dict(data)
        prop = kwargs.get("propagation", {})
        if not isinstance(prop, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in prop.values()
        ):
            raise WeightsError(
                f"found {prop!r}, expected an object of numbers", path=path, field="propagation"
            )
        kwargs["propagation"] = tuple(sorted((str(k), float(v)) for k, v in prop.items()))
        try:
            entry = cls(**kwargs)
        except TypeError as exc:
            raise WeightsError(f"cannot build an entry: {exc}", path=path) from None
        validate_entry(entry, path=path)
        return entry


def validate_entry(entry: WeightsEntry, *, path: str | Path | None = None) -> None:
    """Check an entry's fields for type and range.

    Raises:
        WeightsError: naming the field, the value found and the value expected.
    """

    def bad(name: str, expected: str) -> WeightsError:
        return WeightsError(
            f"found {getattr(entry, name)!r}, expected {expected}", path=path, field=name
        )

    if not _NAME_RE.match(entry.name):
        raise bad("name", "1-64 letters, digits, '.', '_' or '-'")
    if entry.location == "path":
        if not Path(entry.file).is_absolute():
            raise bad("file", "an absolute path (location 'path')")
    elif not entry.file or Path(entry.file).is_absolute() or ".." in Path(entry.file).parts:
        raise bad("file", "a relative file name inside the weights folder")
    if entry.sha256 and not _SHA256_RE.match(entry.sha256):
        raise bad("sha256", "64 lowercase hex digits")
    if entry.location not in LOCATIONS:
        raise bad("location", f"one of {LOCATIONS}")
    if not (isinstance(entry.width_mult, (int, float)) and entry.width_mult > 0):
        raise bad("width_mult", "a number > 0")
    if not (isinstance(entry.extra_inputs, int) and entry.extra_inputs >= 0):
        raise bad("extra_inputs", "an integer >= 0")
    if entry.extra not in EXTRA_KINDS:
        raise bad("extra", f"one of {EXTRA_KINDS}")
    if entry.extra == "propagation" and entry.extra_inputs < 2:
        raise bad("extra_inputs", "at least 2 (the propagated ab) with extra='propagation'")
    if entry.extra is None and entry.extra_inputs != 0:
        raise bad("extra_inputs", "0 without an extra input kind")
    if entry.residual and entry.extra != "propagation":
        raise bad("residual", "False unless extra='propagation'")
    for name in ("l_norm", "ab_norm"):
        if not (isinstance(getattr(entry, name), (int, float)) and getattr(entry, name) > 0):
            raise bad(name, "a number > 0")
    version = entry.class_head_version
    if not isinstance(version, int) or isinstance(version, bool) or (
        version not in CLASS_HEAD_VERSIONS
    ):
        raise bad("class_head_version", f"one of {CLASS_HEAD_VERSIONS}")
    for name in ("working_size", "size_multiple"):
        if not (isinstance(getattr(entry, name), int) and getattr(entry, name) > 0):
            raise bad(name, "an integer > 0")


def builtin_entries() -> dict[str, WeightsEntry]:
    """The entries shipped with vidcolor, by name (a fresh dict on every call)."""
    shipped = WeightsEntry(
        name=DEFAULT_NAME,
        file=SHIPPED_FILE,
        sha256=SHIPPED_SHA256,
        license="MIT (weights); trained on BSDS500 (Berkeley research use), ImageNet samples "
        "(non-commercial research), NIPS 2017 dev images (CC-BY 2.0): see weights/MODEL_CARD.md",
        source="python -m vidcolor.train (see weights/MODEL_CARD.md)",
        location="package",
        width_mult=0.25,
        extra_inputs=PROPAGATION_CHANNELS,
        extra="propagation",
        residual=True,
        propagation=SHIPPED_PROPAGATION,
        mask_cent=0.0,
        working_size=256,
        class_head_trained=True,
        class_head_version=2,
        description="vidcolor's own quarter-width SIGGRAPH17 hint network (default)",
    )
    return {shipped.name: shipped}


# ---------------------------------------------------------------- locations


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/vidcolor`` or ``~/.cache/vidcolor``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec says, so the cache never
    depends on the current directory.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "vidcolor"


def user_weights_dir() -> Path:
    """Folder of imported and downloaded weights (inside :func:`cache_dir`)."""
    return cache_dir() / "weights"


def index_path() -> Path:
    """The JSON index of user entries."""
    return user_weights_dir() / "index.json"


def shipped_weights_dirs() -> list[Path]:
    """Folders searched, in order, for the files of built-in entries.

    ``$VIDCOLOR_WEIGHTS_DIR`` (if set), the source checkout's ``weights/`` (when this module
    sits in a checkout with ``setup.cfg``), then ``<sys.prefix>/share/vidcolor/weights``
    where ``pip install`` puts the ``data_files``.
    """
    dirs = []
    override = os.environ.get("VIDCOLOR_WEIGHTS_DIR")
    if override:
        dirs.append(Path(override).expanduser().resolve())
    repo = Path(__file__).resolve().parents[2]
    if (repo / "setup.cfg").is_file():
        dirs.append(repo / "weights")
    dirs.append(Path(sys.prefix) / "share" / "vidcolor" / "weights")
    return dirs


def resolve_path(entry: WeightsEntry) -> Path:
    """The absolute path of an entry's file.

    Raises:
        WeightsError: when the file is in none of the places searched (named in the message).
    """
    if entry.location == "path":
        candidates = [Path(entry.file)]
    elif entry.location == "cache":
        candidates = [user_weights_dir() / entry.file]
    else:
        candidates = [d / entry.file for d in shipped_weights_dirs()]
    for path in candidates:
        if path.is_file():
            return path
    raise WeightsError(
        f"weights {entry.name!r}: file {entry.file!r} not found; looked in "
        + ", ".join(str(p.parent) for p in candidates),
        path=candidates[0],
    )


# ---------------------------------------------------------------- user index


def _read_index() -> dict[str, WeightsEntry]:
    path = index_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"unreadable index ({exc}); fix or delete it", path=path) from None
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        found = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise WeightsError(f"found version {found!r}, expected {INDEX_VERSION}", path=path,
                           field="version")
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise WeightsError(f"found {entries!r}, expected a list", path=path, field="entries")
    out = {}
    for item in entries:
        entry = WeightsEntry.from_json(item, path=path)
        if entry.location != "cache":
            raise WeightsError(
                f"entry {entry.name!r} has location {entry.location!r}, expected 'cache'",
                path=path, field="location",
            )
        out[entry.name] = entry
    return out


def _write_index(entries: dict[str, WeightsEntry]) -> None:
    path = index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": INDEX_VERSION, "entries": [e.to_json() for e in entries.values()]}
    write_bytes(path, json.dumps(data, indent=1).encode())


def user_entries() -> dict[str, WeightsEntry]:
    """The entries registered in the user cache, by name."""
    return _read_index()


def register_weights(entry: WeightsEntry) -> None:
    """Add or replace a user entry in the cache index.

    Args:
        entry: an entry with ``location="cache"`` whose file is already in
            :func:`user_weights_dir`.

    Raises:
        WeightsError: when the entry is invalid, would shadow a built-in name, or its
            file is missing.
    """
    validate_entry(entry)
    if entry.location != "cache":
        raise WeightsError(f"found {entry.location!r}, expected 'cache'", field="location")
    if entry.name in builtin_entries() or entry.name == DEFAULT_ALIAS:
        raise WeightsError(
            f"name {entry.name!r} is taken by a built-in entry; choose another", field="name"
        )
    if not _SHA256_RE.match(entry.sha256):
        raise WeightsError(f"found {entry.sha256!r}, expected 64 hex digits", field="sha256")
    resolve_path(entry)
    entries = _read_index()
    entries[entry.name] = entry
    _write_index(entries)


def unregister_weights(name: str) -> bool:
    """Remove a user entry from the index (the file stays). Returns whether it existed."""
    entries = _read_index()
    if name not in entries:
        return False
    del entries[name]
    _write_index(entries)
    return True


def list_weights() -> list[WeightsEntry]:
    """Every known entry: built-in first, then user entries by name."""
    user = _read_index()
    return [*builtin_entries().values(), *(user[k] for k in sorted(user))]


def get_weights(name: str) -> WeightsEntry:
    """The entry registered under ``name`` (``"default"`` is the shipped model).

    Raises:
        WeightsError: when no entry has that name; the message lists the names there are.
    """
    if name == DEFAULT_ALIAS:
        name = DEFAULT_NAME
    builtin = builtin_entries()
    if name in builtin:
        return builtin[name]
    user = _read_index()
    if name in user:
        return user[name]
    known = [DEFAULT_ALIAS, *builtin, *sorted(user)]
    raise WeightsError(
        f"no weights named {name!r}; expected one of {known} or a path to a .safetensors file",
        field="weights",
    )
