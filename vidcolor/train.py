"""Train the hint network: ``python -m vidcolor.train --data ../shared/data/train --name q``.

What it does (SIGGRAPH17 protocol, see :mod:`vidcolor.models.simulate`):

* decodes every training image once into RAM (RGB uint8) and skips near-gray ones;
* holds out a fixed slice of them (every ``val_every``-th file by name) for validation;
* draws batches of random crops (random scale and aspect, flips) with simulated user hints,
  computes the edge-aware propagation of the hints (:mod:`vidcolor.models.propagate`) as the
  network's extra input, and minimises the smooth-L1 loss (delta = 1 ab unit) on ab;
* trains the 529-way class head (palette suggestions) with cross-entropy on detached
  inputs, so it never pulls the regression trunk; the version-2 head
  (``class_head_version=2``, the default) sees the model8 features and the network's own
  chroma, the hints and the propagation, so its suggestions follow the hints;
* ``--film-share P`` degrades the network's input luma of a share P of the samples like old
  film (:func:`vidcolor.filmlook.degrade_still`: softening, flicker, scratches, dust,
  grain; no weave), and the propagation is computed from that degraded luma, as at run
  time; the target colors stay clean;
* ``--train-head-only`` freezes the trunk (weights and BatchNorm statistics, so its
  regression output stays bit-identical to the warm start's) and trains only the head;
* keeps an exponential moving average of the weights (the exported model);
* every few minutes writes a resumable checkpoint (model, EMA, optimizer, step, RNG states) to
  ``runs/<name>/checkpoint.pt`` and logs the loss to ``runs/<name>/log.jsonl``; every
  ``val_minutes`` it logs the validation PSNR (256x256, 6x6 Gaussian hints, N = 0/10/100;
  the image-sweep protocol on held-out training images);
* ``--export PATH`` writes the EMA weights as safetensors with the registry contract.

Runs on the CPU or CUDA (``--device auto`` picks CUDA when present).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import click
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidcolor.atomic import atomic_output
from vidcolor.color import gray_to_lightness, lab_to_rgb, rgb_to_lab
from vidcolor.errors import InputError
from vidcolor.filmlook import degrade_still, to_gray
from vidcolor.models.propagate import CHANNELS, DEFAULT_PARAMS, propagate_batch
from vidcolor.models.siggraph17 import SIGGRAPHGenerator, ab_to_bin, count_parameters
from vidcolor.models.simulate import HintSampler, place_patches

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved in the checkpoint and the log).

    Attributes:
        width_mult: network width multiplier.
        crop: training crop side in pixels (multiple of 8).
        batch: crops per step.
        steps: total optimizer steps (the LR schedule ends there).
        lr: peak Adam learning rate.
        warmup: linear warm-up steps.
        weight_decay: AdamW weight decay.
        ema: decay of the weight moving average.
        class_weight: weight of the class-head cross-entropy.
        min_scale: smallest random rescale of an image before cropping.
        gray_chroma: images whose mean chroma (ab magnitude) is below this are skipped.
        val_every: every this-many-th image (sorted by name) is held out for validation.
        val_images: at most this many held-out images are scored.
        val_size: side of the (square) validation images; 256 is the sweep protocol.
        dense_share: share of samples with a log-uniform (dense) hint count.
        max_points: largest dense hint count.
        seed: seed of every random draw.
        warmup_from: run folder (or ``.safetensors`` file) whose weights start this run
            ("" for a random start); a warm start keeps its own fresh optimizer and LR
            schedule. A source with another class-head version gives the trunk only (the
            head starts fresh).
        class_head_version: palette head architecture (1 = official 1x1 on the features,
            2 = also sees the chroma; see :mod:`vidcolor.models.siggraph17`).
        head_only: train only the class head; the trunk is frozen (eval mode, no grads).
        film_share: share of samples whose input luma is degraded like film (0: none, and
            no extra random draws, so older runs repeat exactly).
        film_min: smallest film strength (:func:`vidcolor.filmlook.degrade_still`).
        film_max: largest film strength; drawn uniformly in between.
        film_side: the frame side the film effects are sized for (the network's working
            size: the picture a film frame becomes before the network sees it).
    """

    width_mult: float = 0.25
    crop: int = 128
    batch: int = 16
    steps: int = 6000
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 1e-4
    ema: float = 0.999
    class_weight: float = 1.0
    min_scale: float = 0.55
    gray_chroma: float = 4.0
    val_every: int = 40
    val_images: int = 48
    val_size: int = 256
    dense_share: float = 0.5
    max_points: int = 128
    seed: int = 0
    warmup_from: str = ""
    class_head_version: int = 2
    head_only: bool = False
    film_share: float = 0.0
    film_min: float = 0.25
    film_max: float = 1.5
    film_side: int = 256

    def sampler(self) -> HintSampler:
        """The simulated user of this run."""
        return HintSampler(dense_share=self.dense_share, max_points=self.max_points)


# ----------------------------------------------------------------------------- data


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    if not folder.is_dir():
        raise InputError("not a folder; expected a folder of color images", path=folder)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"no images found (looked for {IMAGE_SUFFIXES})", path=folder)
    return paths


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean ab magnitude of an RGB uint8 image (0 for a gray one), on a small copy."""
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA)
    ab = rgb_to_lab(small)[..., 1:]
    return float(np.sqrt((ab**2).sum(axis=2)).mean())


def load_images(
    folder: Path, config: TrainConfig
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Decode the training folder once.

    Returns:
        ``(train, val, skipped)``: RGB uint8 images for training and for validation, and
        the names of the near-gray images left out.
    """
    train, val, skipped = [], [], []
    for i, path in enumerate(list_images(folder)):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError("cannot be read as an image", path=path)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if min(rgb.shape[:2]) < config.crop:
            skipped.append(path.name)
            continue
        if mean_chroma(rgb) < config.gray_chroma:
            skipped.append(path.name)
            continue
        (val if i % config.val_every == 0 else train).append(rgb)
    return train, val[: config.val_images], skipped


def random_crop(rgb: np.ndarray, crop: int, min_scale: float, rng: np.random.Generator):
    """A random rescale (independent per axis), crop and horizontal flip of an image.

    Returns:
        ``(crop, crop, 3)`` uint8 RGB.
    """
    h, w = rgb.shape[:2]
    lo_y, lo_x = max(min_scale, crop / h), max(min_scale, crop / w)
    sy, sx = rng.uniform(lo_y, 1.0), rng.uniform(lo_x, 1.0)
    nh, nw = max(crop, int(round(h * sy))), max(crop, int(round(w * sx)))
    if (nh, nw) != (h, w):
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    y = int(rng.integers(nh - crop + 1))
    x = int(rng.integers(nw - crop + 1))
    out = rgb[y : y + crop, x : x + crop]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


@dataclass
class Batch:
    """One training or validation batch, NCHW float32 tensors."""

    lightness: torch.Tensor  # (B, 1, H, W) L in [0, 100]
    hint_ab: torch.Tensor  # (B, 2, H, W)
    hint_mask: torch.Tensor  # (B, 1, H, W)
    extra: torch.Tensor  # (B, 4, H, W) propagation
    target: torch.Tensor  # (B, 2, H, W) true ab

    def to(self, device: torch.device) -> Batch:
        """The same batch on ``device``, in the channels-last layout the trainer uses."""
        return Batch(
            *(
                t.to(device, non_blocking=True, memory_format=torch.channels_last)
                for t in asdict(self).values()
            )
        )


def make_batch(labs: Sequence[np.ndarray], hints: Sequence[tuple[np.ndarray, np.ndarray]],
               inputs: Sequence[np.ndarray] | None = None):
    """Stack Lab images and their hints, and compute the propagation.

    Args:
        labs: ``(H, W, 3)`` float32 Lab images of one size (their ab is the target).
        hints: ``(hint_ab (H, W, 2), mask (H, W))`` per image.
        inputs: ``(H, W)`` float32 L the network and the propagation see, per image
            (e.g. film-degraded); default the images' own L.

    Returns:
        A :class:`Batch`.
    """
    lab = np.stack(labs)
    lightness = lab[..., 0] if inputs is None else np.stack(inputs).astype(np.float32)
    hint_ab = np.stack([h[0] for h in hints])
    mask = np.stack([h[1] for h in hints])
    extra = propagate_batch(lightness, hint_ab, mask, DEFAULT_PARAMS)

    def nchw(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    return Batch(
        lightness=nchw(lightness[..., None]),
        hint_ab=nchw(hint_ab),
        hint_mask=nchw(mask[..., None]),
        extra=nchw(extra),
        target=nchw(lab[..., 1:]),
    )


def train_batch(
    images: Sequence[np.ndarray], config: TrainConfig, rng: np.random.Generator
) -> Batch:
    """A batch of random crops with simulated hints."""
    sampler = config.sampler()
    labs, hints, inputs = [], [], []
    for _ in range(config.batch):
        rgb = images[int(rng.integers(len(images)))]
        crop = random_crop(rgb, config.crop, config.min_scale, rng)
        lab = rgb_to_lab(crop)
        labs.append(lab)
        hints.append(sampler.sample(lab[..., 1:], rng))
        inputs.append(lab[..., 0])
        if config.film_share > 0 and rng.random() < config.film_share:
            strength = rng.uniform(config.film_min, config.film_max)
            film = degrade_still(to_gray(crop), strength, rng, reference_side=config.film_side)
            inputs[-1] = gray_to_lightness(film)
    return make_batch(labs, hints, inputs)


# ------------------------------------------------------------------------ validation


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def validation_set(images: Sequence[np.ndarray], ns: Sequence[int], seed: int, size: int = 256):
    """Fixed validation samples: each image at size x size with ``n`` 6x6 Gaussian hints.

    Returns:
        ``{n: (rgbs, batch)}``.
    """
    rgbs = [cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images]
    labs = [rgb_to_lab(im) for im in rgbs]
    out = {}
    for n in ns:
        hints = [
            place_patches(
                lab[..., 1:], np.full(n, 6), np.random.default_rng((seed, i, n)), gaussian=True
            )
            for i, lab in enumerate(labs)
        ]
        out[n] = (rgbs, make_batch(labs, hints))
    return out


@torch.no_grad()
def validate(model: SIGGRAPHGenerator, vset, device: torch.device, chunk: int = 8) -> dict:
    """Mean PSNR (RGB uint8) of the model, of the propagation alone and of gray, per N."""
    was_training = model.training
    model.eval()
    result = {}
    for n, (rgbs, batch) in vset.items():
        scores = {"model": [], "propagation": [], "gray": []}
        for s in range(0, len(rgbs), chunk):
            part = Batch(*(t[s : s + chunk] for t in asdict(batch).values()))
            dev = part.to(device)
            pred = model(dev.lightness, dev.hint_ab, dev.hint_mask, dev.extra).float().cpu()
            for j in range(len(part.lightness)):
                L = part.lightness[j, 0].numpy()
                for key, ab in (
                    ("model", pred[j]),
                    ("propagation", part.extra[j, :2]),
                    ("gray", torch.zeros_like(pred[j])),
                ):
                    rgb = lab_to_rgb(np.dstack([L, ab.permute(1, 2, 0).numpy()]))
                    scores[key].append(psnr_uint8(rgb, rgbs[s + j]))
        result[str(n)] = {k: round(float(np.mean(v)), 3) for k, v in scores.items()}
    model.train(was_training)
    return result


# --------------------------------------------------------------------------- training


def build_model(config: TrainConfig) -> SIGGRAPHGenerator:
    """The network this trainer trains: residual on the 4-channel propagation."""
    return SIGGRAPHGenerator(config.width_mult, extra_inputs=CHANNELS, residual=True,
                             class_head_version=config.class_head_version)


def saved_config(data: dict) -> TrainConfig:
    """A checkpoint's config; runs saved before head version 2 existed had version 1."""
    data = dict(data)
    data.setdefault("class_head_version", 1)
    return TrainConfig(**data)


def load_start(model: SIGGRAPHGenerator, source: SIGGRAPHGenerator, where: Path) -> None:
    """Copy a warm start's weights; only the trunk when the class heads differ.

    Raises:
        InputError: when anything but the class head fails to match.
    """
    state = source.state_dict()
    if source.class_head_version == model.class_head_version:
        model.load_state_dict(state)
        return
    state = {k: v for k, v in state.items() if not k.startswith("model_class.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = unexpected + [k for k in missing if not k.startswith("model_class.")]
    if bad:
        raise InputError(f"the start's weights do not fit: {bad[:4]}", path=where)


def trainable_parameters(model: SIGGRAPHGenerator, config: TrainConfig) -> list:
    """What the optimizer updates: everything, or only the class head (``head_only``)."""
    if not config.head_only:
        return list(model.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    head = list(model.model_class.parameters())
    for p in head:
        p.requires_grad_(True)
    return head


def set_train_mode(model: SIGGRAPHGenerator, config: TrainConfig) -> None:
    """Training mode; with ``head_only`` the trunk stays in eval (BatchNorm frozen)."""
    model.train(not config.head_only)
    model.model_class.train()


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 2% of the peak at ``config.steps``."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    t = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t)))


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("CUDA is not available on this machine", field="--device")
    if name not in ("cpu", "cuda"):
        raise InputError(f"found {name!r}, expected auto, cpu or cuda", field="--device")
    return torch.device(name)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for parameters; buffers are copied."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """Write the checkpoint atomically (temp file, then rename)."""
    with atomic_output(run_dir / CHECKPOINT, overwrite=True) as tmp:
        torch.save(state, tmp)


def log_line(run_dir: Path, record: dict) -> None:
    """Append one JSON record to the run's log (and echo it)."""
    line = json.dumps(record)
    with open(run_dir / LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    click.echo(line)


def train(
    data: Path,
    run_dir: Path,
    config: TrainConfig,
    *,
    device: torch.device,
    resume: bool,
    checkpoint_minutes: float = 5.0,
    val_minutes: float = 10.0,
    max_minutes: float | None = None,
    new_steps: int | None = None,
) -> SIGGRAPHGenerator:
    """Train (or continue training) and return the EMA model.

    Args:
        data: folder of color training images.
        run_dir: where the checkpoint and log go.
        config: the run's settings; on resume, those saved in the checkpoint win.
        device: where the network runs.
        resume: continue from ``run_dir``'s checkpoint (an error if there is none).
        checkpoint_minutes: wall minutes between checkpoints.
        val_minutes: wall minutes between validations.
        max_minutes: stop (with a checkpoint) after this many wall minutes of this call.
        new_steps: on resume, a new total length for the run (its LR schedule is
            recomputed for it from the current step); None keeps the saved one.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / CHECKPOINT
    state = None
    if resume:
        if not ckpt_path.is_file():
            raise InputError("no checkpoint to resume from", path=ckpt_path)
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        config = saved_config(state["config"])
        if new_steps is not None and new_steps != config.steps:
            if new_steps < state["step"]:
                raise InputError(f"the run is at step {state['step']}; expected --steps at "
                                 "least that", field="--steps")
            config = replace(config, steps=new_steps)
    elif ckpt_path.exists():
        raise InputError(
            "a checkpoint exists; pass --resume or pick another --name", path=ckpt_path
        )

    torch.manual_seed(config.seed)
    model = build_model(config)
    if config.warmup_from and state is None:
        start = Path(config.warmup_from)
        if start.suffix == ".safetensors":  # shipped or exported weights, hash-checked
            from vidcolor.models.weights import load_weights

            start_model, entry = load_weights(start)
            width, where = entry.width_mult, start
        else:
            start_model, start_config, _ = load_checkpoint_model(start)
            width, where = start_config.width_mult, start / CHECKPOINT
        if width != config.width_mult:
            raise InputError(f"width {width} there, expected {config.width_mult}", path=where)
        load_start(model, start_model, where)
    # channels_last runs the CPU convolutions about 1.4x faster (oneDNN's native layout).
    model = model.to(device, memory_format=torch.channels_last)
    ema = build_model(config).to(device, memory_format=torch.channels_last)
    ema.load_state_dict(model.state_dict())
    ema.eval()
    opt = torch.optim.AdamW(
        trainable_parameters(model, config), lr=config.lr, weight_decay=config.weight_decay
    )
    rng = np.random.default_rng(config.seed)
    step, elapsed = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]

    t0 = time.perf_counter()
    train_images, val_images, skipped = load_images(data, config)
    vset = validation_set(val_images, (0, 10, 100), config.seed, config.val_size)
    log_line(
        run_dir,
        {
            "event": "resume" if state else "start",
            "step": step,
            "config": asdict(config),
            "device": str(device),
            "threads": torch.get_num_threads(),
            "params": count_parameters(model),
            "train_images": len(train_images),
            "val_images": len(val_images),
            "skipped_gray": len(skipped),
            "load_seconds": round(time.perf_counter() - t0, 1),
        },
    )

    def checkpoint() -> None:
        save_checkpoint(
            run_dir,
            {
                "config": asdict(config),
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": opt.state_dict(),
                "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "elapsed": elapsed + (time.perf_counter() - start),
            },
        )

    set_train_mode(model, config)
    start = time.perf_counter()
    last_ckpt = last_val = start
    losses: list[float] = []
    data_time = 0.0
    while step < config.steps:
        td = time.perf_counter()
        batch = train_batch(train_images, config, rng).to(device)
        data_time += time.perf_counter() - td
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config)
        with torch.set_grad_enabled(not config.head_only):
            pred, features = model.forward_features(
                batch.lightness, batch.hint_ab, batch.hint_mask, batch.extra
            )
            loss_ab = F.smooth_l1_loss(pred, batch.target, beta=1.0)
        logits = model.class_head(features, pred, batch.hint_ab, batch.hint_mask, batch.extra)
        target_bins = ab_to_bin(F.avg_pool2d(batch.target, 4))
        loss_class = F.cross_entropy(logits, target_bins)
        loss = config.class_weight * loss_class
        if not config.head_only:
            loss = loss + loss_ab
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        ema_update(ema, model, min(config.ema, (1.0 + step) / (10.0 + step)))
        losses.append(loss_ab.item())
        now = time.perf_counter()
        if step % 25 == 0:
            log_line(
                run_dir,
                {
                    "step": step,
                    "loss_ab": round(float(np.mean(losses)), 4),
                    "loss_class": round(loss_class.item(), 4),
                    "lr": round(lr_at(step - 1, config), 7),
                    "minutes": round((elapsed + now - start) / 60.0, 2),
                    "data_share": round(data_time / (now - start + 1e-9), 3),
                },
            )
            losses.clear()
        stop = max_minutes is not None and now - start > max_minutes * 60.0
        if now - last_ckpt > checkpoint_minutes * 60.0 or step == config.steps or stop:
            checkpoint()
            last_ckpt = now
        if now - last_val > val_minutes * 60.0 or step == config.steps or stop:
            log_line(run_dir, {"step": step, "val_ema": validate(ema, vset, device)})
            last_val = time.perf_counter()
        if stop:
            break
    return ema


# ----------------------------------------------------------------------------- export


def load_checkpoint_model(run_dir: Path) -> tuple[SIGGRAPHGenerator, TrainConfig, dict]:
    """The EMA network of a run's checkpoint, its config and the checkpoint's summary."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise InputError("no checkpoint found", path=path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = saved_config(state["config"])
    model = build_model(config)
    model.load_state_dict(state["ema"])
    model.eval()
    return model, config, {"step": state["step"], "elapsed": state["elapsed"]}


def export_weights(run_dir: Path, dest: Path) -> str:
    """Write a run's EMA weights as safetensors with the registry contract in the header.

    Returns:
        The full sha256 of the written file.
    """
    from vidcolor.models import registry
    from vidcolor.models.weights import save_weights

    model, config, summary = load_checkpoint_model(run_dir)
    entry = registry.WeightsEntry(
        name=registry.DEFAULT_NAME,
        file=dest.name,
        sha256="0" * 64,
        license="MIT (weights); trained on BSDS500 (Berkeley research use), ImageNet samples "
        "(non-commercial research), NIPS 2017 dev images (CC-BY 2.0): see weights/MODEL_CARD.md",
        source=f"python -m vidcolor.train (run {run_dir.name}, step {summary['step']}); "
        "see weights/MODEL_CARD.md",
        width_mult=config.width_mult,
        extra_inputs=CHANNELS,
        extra="propagation",
        residual=True,
        propagation=tuple(sorted(asdict(DEFAULT_PARAMS).items())),
        mask_cent=0.0,
        working_size=256,
        class_head_trained=True,
        class_head_version=config.class_head_version,
        description="vidcolor's own quarter-width SIGGRAPH17 hint network (default)",
    )
    return save_weights(model, entry, dest)


# -------------------------------------------------------------------------------- CLI


@click.command(name="train")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="color images")
@click.option("--name", default="q", show_default=True, help="run name: runs/<name>/")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"))
@click.option("--resume", is_flag=True, help="continue runs/<name>/checkpoint.pt")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda")
@click.option("--threads", type=int, default=None, help="torch CPU threads")
@click.option("--width", type=float, default=TrainConfig.width_mult, show_default=True)
@click.option("--crop", type=int, default=TrainConfig.crop, show_default=True)
@click.option("--batch", type=int, default=TrainConfig.batch, show_default=True)
@click.option(
    "--steps",
    type=int,
    default=TrainConfig.steps,
    show_default=True,
    help="total optimizer steps; with --resume, a new total for the run",
)
@click.option("--lr", type=float, default=TrainConfig.lr, show_default=True)
@click.option("--seed", type=int, default=TrainConfig.seed, show_default=True)
@click.option(
    "--warmup-from",
    type=click.Path(path_type=Path),
    default=None,
    help="start from this run folder's final EMA weights, or from a .safetensors file "
    "(fresh optimizer and schedule)",
)
@click.option(
    "--film-share",
    type=float,
    default=TrainConfig.film_share,
    show_default=True,
    help="share of samples whose input luma is degraded like old film (targets stay clean)",
)
@click.option(
    "--train-head-only",
    is_flag=True,
    help="freeze the trunk (its output stays bit-identical to --warmup-from's) and train "
    "only the palette head",
)
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True)
@click.option("--val-minutes", type=float, default=10.0, show_default=True)
@click.option("--max-minutes", type=float, default=None, help="stop (resumably) after this")
@click.option(
    "--export",
    type=click.Path(path_type=Path),
    default=None,
    help="write the EMA weights here (.safetensors) when done",
)
@click.option("--export-only", is_flag=True, help="only export the existing checkpoint")
def main(
    data,
    name,
    runs_dir,
    resume,
    device,
    threads,
    width,
    crop,
    batch,
    steps,
    lr,
    seed,
    warmup_from,
    film_share,
    train_head_only,
    checkpoint_minutes,
    val_minutes,
    max_minutes,
    export,
    export_only,
) -> None:
    """Train vidcolor's hint network on a folder of color images."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads:
        torch.set_num_threads(threads)
    if crop % 8:
        raise click.BadParameter(f"{crop} is not a multiple of 8", param_hint="--crop")
    run_dir = runs_dir / name
    if not export_only and data is None:
        raise click.UsageError("--data is required to train (pass a folder of color images)")
    if not export_only:
        config = TrainConfig(
            width_mult=width,
            crop=crop,
            batch=batch,
            steps=steps,
            lr=lr,
            seed=seed,
            warmup_from=str(warmup_from) if warmup_from else "",
            head_only=train_head_only,
            film_share=film_share,
        )
        steps_given = click.get_current_context().get_parameter_source("steps")
        train(
            data,
            run_dir,
            config,
            device=pick_device(device),
            resume=resume,
            checkpoint_minutes=checkpoint_minutes,
            val_minutes=val_minutes,
            max_minutes=max_minutes,
            new_steps=steps if steps_given == click.core.ParameterSource.COMMANDLINE else None,
        )
    if export is not None:
        digest = export_weights(run_dir, export)
        click.echo(json.dumps({"event": "exported", "path": str(export), "sha256": digest}))


if __name__ == "__main__":
    main()
