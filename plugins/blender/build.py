"""Build the installable Blender extension zip: ``dist/vidcolor_vse-<version>.zip``.

The archive holds the files of ``plugins/blender/vidcolor_vse`` at its root, as Blender's own
``blender --command extension build`` lays them out, without bytecode. Entries get a fixed
timestamp and a sorted order, so the same sources always give the same bytes.

Usage: python plugins/blender/build.py [--out DIR]   (prints the archive's path)
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "vidcolor_vse"
_EPOCH = (2024, 1, 1, 0, 0, 0)


def manifest_field(text: str, key: str) -> str:
    """The string value of a top-level ``key = "value"`` line of a TOML manifest."""
    match = re.search(rf'^{key}\s*=\s*"([^"]*)"', text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{SOURCE / 'blender_manifest.toml'}: {key}: missing, expected a string")
    return match.group(1)


def package_files(source: Path) -> list[Path]:
    """The files that go into the archive, sorted: everything but caches and bytecode."""
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def build(out_dir: Path, source: Path = SOURCE) -> Path:
    """Write the archive into ``out_dir`` and return its path."""
    manifest = (source / "blender_manifest.toml").read_text(encoding="utf-8")
    name = f"{manifest_field(manifest, 'id')}-{manifest_field(manifest, 'version')}.zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in package_files(source):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dist"), help="output folder")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
