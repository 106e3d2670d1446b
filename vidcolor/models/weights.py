"""Loading weights safely: safetensors only, sha256 first, strict state-dict matching.

* :func:`load_weights` builds the network a :class:`~vidcolor.models.registry.WeightsEntry`
  describes and fills it from a ``.safetensors`` file whose sha256 has been checked first.
  No pickle is ever read here.
* :func:`import_official` converts a user's copy of the official SIGGRAPH17 release
  (``siggraph17-df00044c.pth``) into safetensors in the user cache, reading the pickle with
  ``torch.load(weights_only=True)`` (tensors and plain containers only, no code), and registers it.
* :func:`download` fetches a file for the explicit ``vidcolor weights download`` command only:
  streamed to a temp file, hash-checked, then renamed into place. Nothing else downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from vidcolor.atomic import atomic_output
from vidcolor.errors import WeightsError
from vidcolor.models import siggraph17
from vidcolor.models.registry import (
    WeightsEntry,
    get_weights,
    list_weights,
    register_weights,
    resolve_path,
    user_weights_dir,
    validate_entry,
)
from vidcolor.models.siggraph17 import SIGGRAPHGenerator

OFFICIAL_SHA256_PREFIX = "df00044c"  # the official file name carries its hash prefix
METADATA_KEY = "vidcolor"  # safetensors header metadata: the entry's contract as JSON
_CHUNK = 1 << 20
_LIST_LIMIT = 8


def sha256_file(path: str | Path) -> str:
    """Full lowercase hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> None:
    """Check a file against its registered sha256.

    Raises:
        WeightsError: when no hash is registered or the file's hash differs (both shown).
    """
    if not expected:
        raise WeightsError(
            "no sha256 is registered for this file, so it cannot be trusted; expected the "
            "entry's full sha256", path=path, field="sha256",
        )
    found = sha256_file(path)
    if found != expected.lower():
        raise WeightsError(
            f"checksum mismatch: found sha256 {found}, expected {expected.lower()} "
            "(the file is corrupt, truncated or not the registered one)",
            path=path, field="sha256",
        )


def build_model(entry: WeightsEntry) -> SIGGRAPHGenerator:
    """An untrained network with the architecture an entry describes.

    Raises:
        WeightsError: when the entry's normalisation differs from the architecture's.
    """
    validate_entry(entry)
    fixed = {"l_cent": siggraph17.L_CENT, "l_norm": siggraph17.L_NORM,
             "ab_norm": siggraph17.AB_NORM}
    for name, value in fixed.items():
        if float(getattr(entry, name)) != float(value):
            raise WeightsError(
                f"weights {entry.name!r} need {name}={getattr(entry, name)}, but the network "
                f"normalises with {value}", field=name,
            )
    return SIGGRAPHGenerator(
        entry.width_mult, entry.extra_inputs, residual=entry.residual, mask_cent=entry.mask_cent,
        class_head_version=entry.class_head_version,
    )


def _describe(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LIST_LIMIT])
    return shown + (f" and {len(keys) - _LIST_LIMIT} more" if len(keys) > _LIST_LIMIT else "")


def strict_load(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | Path
) -> None:
    """``model.load_state_dict(state, strict=True)`` with a readable error.

    A missing BatchNorm ``num_batches_tracked`` counter (absent from files saved by old
    PyTorch versions) is filled with 0; any other difference is an error.

    Raises:
        WeightsError: listing missing keys, unexpected keys and shape mismatches
            (found vs expected shape).
    """
    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k} found {tuple(state[k].shape)} expected {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({_describe(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_describe(unexpected)})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatches ({_describe(shapes)})")
    if problems:
        raise WeightsError(
            "the weights do not fit the architecture: " + "; ".join(problems), path=path
        )
    model.load_state_dict(state, strict=True)


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and header metadata of a ``.safetensors`` file (on the CPU).

    Raises:
        WeightsError: when the file is not a valid safetensors file.
    """
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
        return load_file(str(path), device="cpu"), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"not a readable safetensors file ({exc}); expected a .safetensors file "
            "(convert an official .pth with `vidcolor weights import`)", path=path,
        ) from None


def _entry_metadata(entry: WeightsEntry) -> dict[str, str]:
    data = entry.to_json()
    for key in ("name", "file", "sha256", "location"):
        data.pop(key)
    return {METADATA_KEY: json.dumps(data, sort_keys=True)}


def _entry_from_file(path: Path) -> WeightsEntry:
    """An ad-hoc entry for a .safetensors path given by the user.

    A file whose sha256 matches a registered entry takes that entry's contract; otherwise
    the contract comes from the file's own ``vidcolor`` metadata (written by vidcolor's
    trainer and importer). The file is trusted as the user's explicit choice: safetensors
    holds tensors only, and the hash recorded here is the one just computed.
    """
    found = sha256_file(path)
    for entry in list_weights():
        if entry.sha256 == found:
            return entry
    _, metadata = read_safetensors(path)
    if METADATA_KEY not in metadata:
        raise WeightsError(
            f"no {METADATA_KEY!r} metadata in the file and its sha256 {found} matches no "
            "registered weights; expected weights written by vidcolor (train, import) or a "
            "registered name", path=path, field="metadata",
        )
    try:
        data = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise WeightsError(f"bad metadata JSON ({exc})", path=path, field=METADATA_KEY) from None
    if not isinstance(data, dict):
        raise WeightsError(f"found {data!r}, expected an object", path=path, field=METADATA_KEY)
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in path.stem)[:64]
    data.update(name=stem.lstrip("._-") or "weights", file=str(path.resolve()), sha256=found,
                location="path")
    data.setdefault("license", "unknown")
    data.setdefault("source", str(path))
    return WeightsEntry.from_json(data, path=path)


CONTRACT_FIELDS = ("width_mult", "extra_inputs", "extra", "residual", "propagation", "l_cent",
                   "l_norm", "ab_norm", "mask_cent", "working_size", "size_multiple",
                   "class_head_trained", "class_head_version")


def check_contract(entry: WeightsEntry, metadata: Mapping[str, str], path: str | Path) -> None:
    """Check that a file's own contract metadata (if any) agrees with its registry entry.

    Raises:
        WeightsError: naming the first field where the entry and the file disagree.
    """
    if METADATA_KEY not in metadata:
        return
    try:
        data = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise WeightsError(f"bad metadata JSON ({exc})", path=path, field=METADATA_KEY) from None
    if not isinstance(data, dict):
        return
    ours = entry.to_json()
    for key in CONTRACT_FIELDS:
        if key not in data:
            continue
        found, expected = data[key], ours[key]
        if key == "propagation" and isinstance(found, dict):
            same = {k: float(v) for k, v in found.items()} == {
                k: float(v) for k, v in expected.items()}
        else:
            same = found == expected
        if not same:
            raise WeightsError(
                f"the file was saved with {key}={found!r} but the registry entry "
                f"{entry.name!r} says {expected!r}; the entry and the file disagree",
                path=path, field=key,
            )


def is_path(name_or_path: str | Path) -> bool:
    """Whether a ``--weights`` value means a file rather than a registry name."""
    text = str(name_or_path)
    return (
        isinstance(name_or_path, Path)
        or text.endswith((".safetensors", ".pth", ".pt", ".ckpt", ".bin"))
        or os.sep in text
        or "/" in text
    )


def weights_file(name_or_path: str | Path) -> Path:
    """The ``.safetensors`` file a ``--weights`` value names (not loaded, not hashed).

    Raises:
        WeightsError: an unknown name or a missing file.
    """
    if is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise WeightsError("file not found; expected a .safetensors file", path=path)
        return path
    return resolve_path(get_weights(str(name_or_path)))


def load_weights(
    name_or_path: str | Path | WeightsEntry = "default",
) -> tuple[SIGGRAPHGenerator, WeightsEntry]:
    """Build the network and fill it from verified weights, on the CPU, in eval mode.

    Args:
        name_or_path: a registry name (``"default"``), a path to a ``.safetensors`` file,
            or an entry.

    Returns:
        ``(model, entry)``: the loaded network and the entry whose contract it follows.

    Raises:
        WeightsError: unknown name, missing file, checksum mismatch, pickle files, or
            tensors that do not fit the architecture.
    """
    if isinstance(name_or_path, WeightsEntry):
        entry, path = name_or_path, resolve_path(name_or_path)
        verify_sha256(path, entry.sha256)
    elif is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise WeightsError("file not found; expected a .safetensors file", path=path)
        if path.suffix.lower() != ".safetensors":
            raise WeightsError(
                f"found a {path.suffix or 'suffix-less'} file, expected .safetensors; vidcolor "
                "never unpickles weights at run time (import an official .pth once with "
                "`vidcolor weights import PATH`)", path=path,
            )
        entry = _entry_from_file(path)  # hashes the file
    else:
        entry = get_weights(str(name_or_path))
        path = resolve_path(entry)
        verify_sha256(path, entry.sha256)
    state, metadata = read_safetensors(path)
    check_contract(entry, metadata, path)
    model = build_model(entry)
    strict_load(model, state, path)
    model.eval()
    return model, entry


def _atomic_save(state: dict[str, torch.Tensor], dest: Path, metadata: dict[str, str]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(dest, overwrite=True) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, tmp,
                  metadata=metadata)


def save_weights(model: torch.nn.Module, entry: WeightsEntry, dest: str | Path) -> str:
    """Write a model's state dict as safetensors with the entry's contract as metadata.

    Returns:
        The sha256 of the written file (for the registry).
    """
    dest = Path(dest)
    _atomic_save(model.state_dict(), dest, _entry_metadata(entry))
    return sha256_file(dest)


def import_official(
    path: str | Path, *, name: str = "siggraph17-official", mask_cent: float = 0.5
) -> WeightsEntry:
    """Convert the official SIGGRAPH17 PyTorch weights to safetensors and register them.

    The file is read with ``torch.load(weights_only=True, map_location="cpu")``, loaded
    strictly into a full-width :class:`SIGGRAPHGenerator`, saved to the user cache as
    ``<name>.safetensors`` and added to the user index.

    Args:
        path: the official ``siggraph17-df00044c.pth`` (or any state dict in its layout).
        name: registry name for the imported weights.
        mask_cent: subtracted from the {0, 1} hint mask. The official training code
            (richzhang/colorization-pytorch) trains with ``mask_cent = 0.5``; the
            ``colorizers`` wrapper passes the mask unshifted, so 0.5 is the default here.

    Returns:
        The registered entry.

    Raises:
        WeightsError: the file is missing, not a weights-only pickle, or not in the official
            layout (missing/unexpected keys, shape mismatches).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError("file not found; expected the official siggraph17 .pth", path=path)
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, ...
        raise WeightsError(
            f"cannot be read as a weights-only PyTorch file ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); expected the official "
            "siggraph17 .pth state dict", path=path,
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise WeightsError(
            f"found a {type(state).__name__} that is not a state dict of tensors, expected "
            "the official siggraph17 state dict", path=path,
        )
    entry = WeightsEntry(
        name=name,
        file=f"{name}.safetensors",
        sha256="",
        license="BSD-2-Clause as stated by richzhang/colorization; trained on ImageNet "
        "(non-commercial research)",
        source=f"imported from {path.name} (sha256 {sha256_file(path)})",
        location="cache",
        width_mult=1.0,
        extra_inputs=0,
        mask_cent=mask_cent,
        class_head_trained=True,
        description="official SIGGRAPH17 release (Zhang et al. 2017), imported",
    )
    validate_entry(entry)
    model = build_model(entry)
    strict_load(model, state, path)
    sha = save_weights(model, entry, user_weights_dir() / entry.file)
    entry = replace(entry, sha256=sha)
    register_weights(entry)
    return entry


def download(url: str, sha256: str, name: str, *, timeout: float = 60.0) -> Path:
    """Fetch a weights file into the user cache, verifying its sha256 before it lands.

    Only for the explicit ``vidcolor weights download`` command. The body is streamed into
    a temp file in the destination folder while being hashed; on a match it is renamed to
    ``<user cache>/weights/<name>``, otherwise removed.

    Args:
        url: an ``http``, ``https`` or ``file`` URL.
        sha256: the expected full sha256 (64 hex digits).
        name: the file name to store it under (no folders).
        timeout: socket timeout in seconds.

    Returns:
        The path of the stored file.

    Raises:
        WeightsError: bad arguments, a network or HTTP error, or a hash mismatch.
    """
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise WeightsError(f"found {sha256!r}, expected 64 hex digits", field="sha256")
    if not name or Path(name).name != name or name.startswith("."):
        raise WeightsError(f"found {name!r}, expected a plain file name", field="name")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise WeightsError(f"found scheme {scheme!r}, expected http, https or file", field="url")
    dest = user_weights_dir() / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        # The scheme was checked above: http, https or file only.
        with atomic_output(dest, overwrite=True) as tmp, open(tmp, "wb") as out, \
                urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            found = digest.hexdigest()
            if found != expected:
                raise WeightsError(
                    f"checksum mismatch: found sha256 {found}, expected {expected}; nothing "
                    "kept", path=url, field="sha256",
                )
    except (urllib.error.URLError, OSError) as exc:
        raise WeightsError(f"download failed: {exc}", path=url) from None
    return dest


def download_weights(url: str, sha256: str, name: str) -> WeightsEntry:
    """Download and register weights (the ``vidcolor weights download`` command).

    A ``.pth`` file is converted with :func:`import_official` (and the downloaded pickle
    removed); a ``.safetensors`` file must carry vidcolor metadata and is registered as is.

    Args:
        url: where to fetch from (http, https or file).
        sha256: the expected sha256 of the downloaded file.
        name: registry name; the file is stored as ``<name>`` plus the URL's suffix.

    Returns:
        The registered entry.
    """
    suffix = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    if suffix not in (".pth", ".safetensors"):
        raise WeightsError(f"found {suffix or 'no suffix'}, expected .pth or .safetensors",
                           path=url)
    stored = download(url, sha256, f"{name}{suffix}")
    if suffix == ".pth":
        try:
            return import_official(stored, name=name)
        finally:
            stored.unlink(missing_ok=True)
    entry = replace(_entry_from_file(stored), name=name, file=stored.name, location="cache",
                    source=url)
    register_weights(entry)
    return entry


def import_weights(path: str | Path, name: str | None = None) -> WeightsEntry:
    """Register a weights file by name (the ``vidcolor weights import PATH`` command).

    Args:
        path: the official SIGGRAPH17 ``.pth`` (converted by :func:`import_official`), or a
            vidcolor ``.safetensors`` file (copied into the user cache).
        name: registry name; default ``siggraph17-official`` for a ``.pth``, the file's
            stem for a ``.safetensors`` file.

    Returns:
        The registered entry.

    Raises:
        WeightsError: an unsupported file type, or anything :func:`import_official` or
            :func:`copy_into_cache` refuses.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".pth", ".pt"):
        return import_official(path, name=name) if name else import_official(path)
    if suffix == ".safetensors":
        return copy_into_cache(path, name or path.stem)
    raise WeightsError(f"found a {suffix or 'suffix-less'} file, expected .pth or .safetensors",
                       path=path)


def copy_into_cache(path: str | Path, name: str) -> WeightsEntry:
    """Register a local vidcolor ``.safetensors`` file (e.g. a training result) by name."""
    src = Path(path).expanduser()
    entry = _entry_from_file(src)
    dest = user_weights_dir() / f"{name}.safetensors"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dest.resolve():
        shutil.copyfile(src, dest)
    entry = replace(entry, name=name, file=dest.name, location="cache",
                    sha256=sha256_file(dest))
    register_weights(entry)
    return entry
