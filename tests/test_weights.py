"""Weights registry, safe loading, official import and download (no network, no real weights)."""

from __future__ import annotations

import configparser
import functools
import hashlib
import http.server
import json
import pickle
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vidcolor.errors import InputError, WeightsError
from vidcolor.models import registry, weights
from vidcolor.models.registry import WeightsEntry
from vidcolor.models.siggraph17 import HEAD_VERSIONS, SIGGRAPHGenerator

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    """Every test gets its own empty user cache."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("VIDCOLOR_WEIGHTS_DIR", raising=False)
    return cache / "vidcolor"


def small_entry(**changes) -> WeightsEntry:
    base = WeightsEntry(
        name="tiny", file="tiny.safetensors", sha256="", license="MIT", source="test",
        location="cache", width_mult=0.125, extra_inputs=0,
    )
    return replace(base, **changes)


def randomized(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random parameters and BatchNorm statistics, so a wrong load cannot pass by luck."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen) * 0.2 + 0.9
                        if t.ndim == 1 else torch.randn(t.shape, generator=gen) * 0.05)
    return model


@functools.cache
def official_state() -> dict[str, torch.Tensor]:
    """A randomly initialised full-width state dict in the official layout (built once)."""
    torch.manual_seed(1)
    return {k: v.clone() for k, v in randomized(SIGGRAPHGenerator(1.0)).state_dict().items()}


# ------------------------------------------------------------------ locations


def test_cache_dir_follows_xdg_and_is_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert registry.cache_dir() == tmp_path / "c" / "vidcolor"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, per the XDG spec
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert registry.cache_dir() == tmp_path / "home" / ".cache" / "vidcolor"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert registry.cache_dir().is_absolute()
    assert registry.index_path().parent == registry.user_weights_dir()


def test_shipped_dir_found_from_checkout_override_and_install_prefix(tmp_path, monkeypatch):
    dirs = registry.shipped_weights_dirs()
    assert REPO / "weights" in dirs  # this checkout
    assert dirs[-1] == Path(registry.sys.prefix) / "share" / "vidcolor" / "weights"
    # An installed package: no checkout file found, data_files under the prefix.
    prefix = tmp_path / "prefix"
    shipped = prefix / "share" / "vidcolor" / "weights" / "x.safetensors"
    shipped.parent.mkdir(parents=True)
    shipped.write_bytes(b"x")
    monkeypatch.setattr(registry.sys, "prefix", str(prefix))
    entry = small_entry(file="x.safetensors", location="package")
    assert registry.resolve_path(entry) == shipped
    monkeypatch.setenv("VIDCOLOR_WEIGHTS_DIR", str(tmp_path / "override"))
    (tmp_path / "override").mkdir()
    (tmp_path / "override" / "x.safetensors").write_bytes(b"y")
    assert registry.resolve_path(entry) == tmp_path / "override" / "x.safetensors"


def test_setup_cfg_installs_the_shipped_weights_where_the_registry_looks():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    data_files = cfg["options.data_files"] if cfg.has_section("options.data_files") else {}
    installed = {
        target.strip(): [f.strip() for f in files.split("\n") if f.strip()]
        for target, files in data_files.items()
    }
    assert f"weights/{registry.SHIPPED_FILE}" in installed.get("share/vidcolor/weights", []), (
        "setup.cfg [options.data_files] must install the shipped weights to "
        "share/vidcolor/weights (where registry.shipped_weights_dirs looks)"
    )


def test_missing_file_names_every_place_searched():
    entry = small_entry(file="absent.safetensors", location="package")
    with pytest.raises(WeightsError) as err:
        registry.resolve_path(entry)
    assert "absent.safetensors" in str(err.value) and str(REPO / "weights") in str(err.value)


def test_default_entry_contract():
    entry = registry.get_weights("default")
    assert entry is not None and entry.name == registry.DEFAULT_NAME
    assert entry.file == registry.SHIPPED_FILE and entry.location == "package"
    assert (entry.l_cent, entry.l_norm, entry.ab_norm) == (50.0, 100.0, 110.0)
    assert entry.working_size == 256 and entry.size_multiple == 8
    assert entry.license and entry.source


def test_shipped_file_matches_registered_sha256():
    """The committed weights file must be the one the registry vouches for."""
    path = REPO / "weights" / registry.SHIPPED_FILE
    if not path.exists():
        pytest.skip("weights/ not trained and committed yet")
    found = weights.sha256_file(path)
    assert registry.SHIPPED_SHA256 == found, f"set registry.SHIPPED_SHA256 = {found!r}"
    assert path.stat().st_size <= 25 * 1024 * 1024
    # And it loads strictly into the architecture its entry describes.
    model, entry = weights.load_weights("default")
    assert entry.name == registry.DEFAULT_NAME and not model.training


def test_default_weights_with_a_wrong_hash_are_refused(tmp_path, monkeypatch):
    """Whatever the shipped file, a file that does not match the registry never loads."""
    entry = registry.get_weights("default")
    model = weights.build_model(entry)
    shipped = tmp_path / "shipped"
    sha = weights.save_weights(model, entry, shipped / registry.SHIPPED_FILE)
    monkeypatch.setenv("VIDCOLOR_WEIGHTS_DIR", str(shipped))
    with pytest.raises(WeightsError, match="sha256"):
        weights.load_weights(replace(entry, sha256=""))  # nothing registered: refused
    with pytest.raises(WeightsError, match=f"found sha256 {sha}"):
        weights.load_weights(replace(entry, sha256="0" * 64))
    loaded, _ = weights.load_weights(replace(entry, sha256=sha))  # test-only: actual hash
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


# ------------------------------------------------------------------ registry


def test_unknown_name_lists_known_names():
    with pytest.raises(WeightsError) as err:
        registry.get_weights("nope")
    assert "'nope'" in str(err.value) and registry.DEFAULT_NAME in str(err.value)
    assert isinstance(err.value, InputError) and err.value.exit_code == 2


def test_register_roundtrip_and_no_shadowing(user_cache):
    model = randomized(SIGGRAPHGenerator(0.125))
    entry = small_entry()
    sha = weights.save_weights(model, entry, registry.user_weights_dir() / entry.file)
    entry = replace(entry, sha256=sha, propagation=(("local_lambda", 50.0),))
    registry.register_weights(entry)
    assert registry.get_weights("tiny") == entry
    assert [e.name for e in registry.list_weights()] == [registry.DEFAULT_NAME, "tiny"]
    index = json.loads(registry.index_path().read_text())
    assert index["version"] == 1 and index["entries"][0]["sha256"] == sha
    with pytest.raises(WeightsError, match="built-in"):
        registry.register_weights(replace(entry, name=registry.DEFAULT_NAME))
    with pytest.raises(WeightsError, match="sha256"):
        registry.register_weights(replace(entry, name="other", sha256="abc"))
    assert registry.unregister_weights("tiny") and not registry.unregister_weights("tiny")
    with pytest.raises(WeightsError):
        registry.get_weights("tiny")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{not json", None),
        ('{"version": 2, "entries": []}', "version"),
        ('{"version": 1, "entries": {}}', "entries"),
        ('{"version": 1, "entries": [{"name": "x"}]}', "file"),
        ('{"version": 1, "entries": [{"name": "x", "file": "../x", "sha256": "", '
         '"license": "", "source": "", "location": "cache"}]}', "file"),
        ('{"version": 1, "entries": [{"name": "x", "file": "x", "sha256": "", '
         '"license": "", "source": "", "location": "cache", "width_mult": -1}]}', "width_mult"),
        ('{"version": 1, "entries": [{"name": "x", "file": "x", "sha256": "", '
         '"license": "", "source": "", "location": "cache", "evil": 1}]}', None),
    ],
)
def test_corrupt_index_is_a_clear_error(content, field):
    registry.index_path().parent.mkdir(parents=True)
    registry.index_path().write_text(content)
    with pytest.raises(WeightsError) as err:
        registry.get_weights("x")
    assert err.value.path == str(registry.index_path())
    assert err.value.field == field


# ------------------------------------------------------------------ loading


def test_load_by_name_verifies_hash_first(user_cache):
    model = randomized(SIGGRAPHGenerator(0.125))
    entry = small_entry()
    path = registry.user_weights_dir() / entry.file
    sha = weights.save_weights(model, entry, path)
    registry.register_weights(replace(entry, sha256=sha))
    loaded, got = weights.load_weights("tiny")
    assert got.sha256 == sha and not loaded.training
    x = torch.rand(1, 1, 16, 16) * 100
    z = torch.zeros(1, 2, 16, 16)
    m = torch.zeros(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x, z, m), model.eval()(x, z, m))
    # One flipped byte at the end: refused before anything is parsed.
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as err:
        weights.load_weights("tiny")
    assert sha in str(err.value) and err.value.field == "sha256"


def test_strict_load_reports_missing_unexpected_and_shapes(tmp_path):
    model = SIGGRAPHGenerator(0.125)
    state = dict(model.state_dict())
    state.pop("model1.0.weight")
    state["model99.weight"] = torch.zeros(3)
    state["model_out.0.bias"] = torch.zeros(3)
    with pytest.raises(WeightsError) as err:
        weights.strict_load(SIGGRAPHGenerator(0.125), state, tmp_path / "w.safetensors")
    msg = str(err.value)
    assert "1 missing keys (model1.0.weight)" in msg
    assert "1 unexpected keys (model99.weight)" in msg
    assert "model_out.0.bias found (3,) expected (2,)" in msg
    assert err.value.path == str(tmp_path / "w.safetensors")


def test_wrong_width_is_a_shape_error_not_a_crash(tmp_path):
    entry = small_entry(location="path", file=str(tmp_path / "w.safetensors"))
    weights.save_weights(SIGGRAPHGenerator(0.25), entry, tmp_path / "w.safetensors")
    with pytest.raises(WeightsError, match="shape mismatches"):
        weights.load_weights(tmp_path / "w.safetensors")


def test_path_loading_uses_file_metadata_contract(tmp_path):
    model = randomized(SIGGRAPHGenerator(0.125, 4, residual=True, mask_cent=0.5))
    entry = small_entry(extra_inputs=4, extra="propagation", residual=True, mask_cent=0.5,
                        propagation=(("local_lambda", 30.0),))
    weights.save_weights(model, entry, tmp_path / "mine.safetensors")
    loaded, got = weights.load_weights(str(tmp_path / "mine.safetensors"))
    assert got.location == "path" and Path(got.file).is_absolute()
    assert (got.extra, got.residual, got.mask_cent, got.propagation) == (
        "propagation", True, 0.5, (("local_lambda", 30.0),))
    assert loaded.mask_cent == 0.5 and loaded.residual
    assert got.sha256 == weights.sha256_file(tmp_path / "mine.safetensors")


def test_pickles_and_garbage_are_refused_at_run_time(tmp_path):
    pth = tmp_path / "w.pth"
    torch.save(SIGGRAPHGenerator(0.125).state_dict(), pth)
    with pytest.raises(WeightsError, match="never unpickles"):
        weights.load_weights(pth)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsError, match="safetensors"):
        weights.load_weights(junk)
    bare = tmp_path / "bare.safetensors"
    save_file({"a": torch.zeros(2)}, bare)
    with pytest.raises(WeightsError) as err:
        weights.load_weights(bare)
    assert err.value.field == "metadata"
    with pytest.raises(WeightsError, match="not found"):
        weights.load_weights(tmp_path / "absent.safetensors")


# ------------------------------------------------------------------ official import


def test_import_official_layout(tmp_path, user_cache):
    state = official_state()
    assert state["model1.0.weight"].shape == (64, 4, 3, 3)
    assert state["model_class.0.weight"].shape == (529, 256, 1, 1)
    src = tmp_path / "siggraph17-df00044c.pth"
    # As old PyTorch saved it: no BatchNorm num_batches_tracked counters.
    torch.save({k: v for k, v in state.items() if "num_batches_tracked" not in k}, src)
    entry = weights.import_official(src)
    assert entry.location == "cache" and entry.width_mult == 1.0 and entry.extra_inputs == 0
    assert entry.class_head_trained and entry.mask_cent == 0.5
    stored = registry.user_weights_dir() / "siggraph17-official.safetensors"
    assert stored.is_file() and entry.sha256 == weights.sha256_file(stored)
    assert not any(p.name.endswith(".tmp") for p in stored.parent.iterdir())
    assert registry.get_weights("siggraph17-official") == entry
    model, got = weights.load_weights("siggraph17-official")
    assert got == entry
    for key, value in state.items():
        if "num_batches_tracked" not in key:
            assert torch.equal(model.state_dict()[key], value), key


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_import_refuses_code_and_wrong_layouts(tmp_path, user_cache, capsys):
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"model1.0.weight": Evil()}, protocol=2))
    with pytest.raises(WeightsError, match="weights-only"):
        weights.import_official(evil)
    assert "pwned" not in capsys.readouterr().out  # the pickle's code never ran
    quarter = tmp_path / "quarter.pth"
    torch.save(SIGGRAPHGenerator(0.25).state_dict(), quarter)
    with pytest.raises(WeightsError, match="shape mismatches"):
        weights.import_official(quarter)
    notdict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], notdict)
    with pytest.raises(WeightsError, match="state dict"):
        weights.import_official(notdict)
    with pytest.raises(WeightsError, match="not found"):
        weights.import_official(tmp_path / "absent.pth")
    assert registry.user_entries() == {}
    assert not registry.user_weights_dir().exists() or not any(
        registry.user_weights_dir().glob("*.safetensors"))


# ------------------------------------------------------------------ download


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server in a thread serving a temp folder."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_over_http_verifies_then_renames(http_root, user_cache):
    root, base = http_root
    payload = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # several chunks
    (root / "w.bin").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    dest = weights.download(f"{base}/w.bin", sha, "w.bin")
    assert dest == registry.user_weights_dir() / "w.bin" and dest.read_bytes() == payload
    with pytest.raises(WeightsError, match="checksum mismatch") as err:
        weights.download(f"{base}/w.bin", "1" * 64, "other.bin")
    assert sha in str(err.value)
    with pytest.raises(WeightsError, match="download failed"):
        weights.download(f"{base}/missing.bin", sha, "missing.bin")
    leftovers = sorted(p.name for p in registry.user_weights_dir().iterdir())
    assert leftovers == ["w.bin"]  # no temp files, nothing from the failed attempts


def test_download_file_url_and_argument_checks(tmp_path, user_cache):
    src = tmp_path / "w.bin"
    src.write_bytes(b"abc")
    sha = hashlib.sha256(b"abc").hexdigest()
    assert weights.download(src.as_uri(), sha.upper(), "w.bin").read_bytes() == b"abc"
    with pytest.raises(WeightsError, match="scheme"):
        weights.download("ftp://example.org/w.bin", sha, "x.bin")
    with pytest.raises(WeightsError, match="64 hex"):
        weights.download(src.as_uri(), "abc", "x.bin")
    with pytest.raises(WeightsError, match="plain file name"):
        weights.download(src.as_uri(), sha, "../x.bin")


def test_download_weights_imports_official_pth(http_root, user_cache):
    root, base = http_root
    src = root / "siggraph17.pth"
    torch.save(official_state(), src)
    sha = weights.sha256_file(src)
    entry = weights.download_weights(f"{base}/siggraph17.pth", sha, "sg17")
    assert registry.get_weights("sg17") == entry and entry.width_mult == 1.0
    assert not (registry.user_weights_dir() / "sg17.pth").exists()  # the pickle is not kept
    assert (registry.user_weights_dir() / "sg17.safetensors").is_file()


def test_download_weights_registers_vidcolor_safetensors(tmp_path, user_cache):
    entry = small_entry()
    src = tmp_path / "trained.safetensors"
    sha = weights.save_weights(randomized(SIGGRAPHGenerator(0.125)), entry, src)
    got = weights.download_weights(src.as_uri(), sha, "mine")
    assert got.name == "mine" and got.location == "cache" and got.sha256 == sha
    model, loaded = weights.load_weights("mine")
    assert loaded == got and model.width_mult == 0.125


def test_import_weights_dispatches_on_suffix(tmp_path, user_cache):
    entry = small_entry()
    src = tmp_path / "my-run.safetensors"
    sha = weights.save_weights(randomized(SIGGRAPHGenerator(0.125)), entry, src)
    got = weights.import_weights(src)
    assert got.name == "my-run" and got.sha256 == sha and got.location == "cache"
    assert weights.load_weights("my-run")[1] == got
    with pytest.raises(WeightsError, match="expected .pth or .safetensors"):
        weights.import_weights(tmp_path / "w.onnx")


def test_weights_commands(tmp_path, user_cache):
    from click.testing import CliRunner

    from vidcolor.cli import cli

    entry = small_entry()
    src = tmp_path / "trained.safetensors"
    sha = weights.save_weights(randomized(SIGGRAPHGenerator(0.125)), entry, src)
    runner = CliRunner()
    result = runner.invoke(cli, ["weights", "import", str(src), "--name", "mine"])
    assert result.exit_code == 0, result.output
    assert registry.get_weights("mine").sha256 == sha
    result = runner.invoke(cli, ["weights", "download", src.as_uri(), "--sha256", sha,
                                 "--name", "fetched"])
    assert result.exit_code == 0 and sha in result.output
    result = runner.invoke(cli, ["weights", "download", src.as_uri(), "--sha256", "0" * 64,
                                 "--name", "bad"])
    assert result.exit_code == 2 and "checksum mismatch" in result.output
    assert "Traceback" not in result.output
    listing = runner.invoke(cli, ["weights", "list"]).output
    assert "mine" in listing and "fetched" in listing and "bad" not in listing


def test_registry_entry_and_file_metadata_must_agree(tmp_path, monkeypatch):
    entry = registry.get_weights("default")
    shipped = tmp_path / "shipped"
    drifted = replace(entry, mask_cent=0.5)  # e.g. the trainer changed its mask convention
    model = SIGGRAPHGenerator(entry.width_mult, entry.extra_inputs, residual=True)
    sha = weights.save_weights(model, drifted, shipped / registry.SHIPPED_FILE)
    monkeypatch.setenv("VIDCOLOR_WEIGHTS_DIR", str(shipped))
    with pytest.raises(WeightsError) as err:
        weights.load_weights(replace(entry, sha256=sha))
    assert err.value.field == "mask_cent" and "0.5" in str(err.value)


def test_default_propagation_contract_is_explicit_and_known():
    from dataclasses import asdict

    from vidcolor.models.propagate import PropagationParams

    entry = registry.get_weights("default")
    known = asdict(PropagationParams())
    assert {k for k, _ in entry.propagation} == set(known)  # every setting pinned


def test_shipped_palette_head_follows_hints():
    entry = registry.get_weights("default")
    assert entry.class_head_trained and entry.class_head_version == 2
    assert entry.palette_follows_hints


def test_files_from_before_head_version_2_load_strictly_as_version_1(tmp_path):
    """A header without class_head_version (every file written before it existed) means 1."""
    model = randomized(SIGGRAPHGenerator(0.125, 4, residual=True))
    entry = small_entry(extra_inputs=4, extra="propagation", residual=True,
                        class_head_trained=True)
    path = tmp_path / "old.safetensors"
    data = entry.to_json()
    for key in ("name", "file", "sha256", "location", "class_head_version"):
        data.pop(key)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={weights.METADATA_KEY: json.dumps(data)})
    loaded, got = weights.load_weights(path)
    assert got.class_head_version == 1 and loaded.class_head_version == 1
    assert got.class_head_trained and not got.palette_follows_hints
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    # The same tensors under a version-2 contract do not fit: strict, with a clear message.
    v2 = tmp_path / "v2.safetensors"
    weights.save_weights(model, replace(entry, class_head_version=2), v2)
    with pytest.raises(WeightsError, match="model_class"):
        weights.load_weights(v2)


@pytest.mark.parametrize("version", [0, 3, True, 2.0])
def test_bad_class_head_version_is_refused(version):
    with pytest.raises(WeightsError) as err:
        registry.validate_entry(small_entry(class_head_version=version))
    assert err.value.field == "class_head_version"
    assert registry.CLASS_HEAD_VERSIONS == HEAD_VERSIONS  # one list, two light modules
