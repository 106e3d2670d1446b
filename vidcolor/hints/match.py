"""Across shots: a shot with no hint frame borrows from the most similar hinted shot. Pure.

The run (``vidcolor.run.plan``) describes one frame of every shot during its analysis pass
(:func:`describe_frame`, on the working-resolution luma) and then, for each shot without a
hint frame, calls :func:`borrow_hints`:

1. **Features.** SIFT keypoints of the unhinted shot's frame are matched (Lowe ratio test)
   against each hinted shot's hint frame and its ``reference`` image, and a homography is
   fitted with RANSAC. When enough inliers agree and the homography is sane, the hinted
   frame's point hints (and scribble, sampled as points) are moved through it; a moved
   point is kept only when it lands inside the frame on similar-looking content (local
   luma difference after warping). The result is a :class:`FrameHints` for the described
   frame, which the run then tracks through the shot like a hint frame.
2. **Palette.** Otherwise, when a hinted shot (or reference) looks similar as a whole
   (thumbnail correlation and luma histogram), its global colors are borrowed: a
   :class:`Palette` of per-lightness-band ab statistics, which the run applies to the
   network's prediction with :func:`apply_palette`.
3. **Nothing.** A shot that matches nothing is colorized automatically.

Every decision is returned as a :class:`BorrowRecord` for the run report and the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.color import gray_to_lightness, rgb_to_lab
from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.rasterize import rasterize_hints
from vidcolor.hints.track import scribble_as_points

_THUMB = 16
_BINS = 32


@dataclass(frozen=True)
class MatchOptions:
    """Thresholds of cross-shot matching.

    Attributes:
        max_features: SIFT keypoints kept per frame.
        ratio: Lowe's ratio-test threshold.
        min_inliers: RANSAC inliers needed for a reliable feature match.
        min_inlier_ratio: inliers / ratio-test matches needed for a reliable match.
        ransac_threshold: RANSAC reprojection threshold, as a fraction of the shorter side.
        max_scale_change: largest zoom (either way) a reliable homography may imply.
        patch_tolerance: largest mean absolute luma difference (0-255) in a 9x9 window
            between a moved point's source and destination for it to be kept.
        min_similarity: appearance similarity in [-1, 1] needed for the palette fallback.
        reference_step: grid step (fraction of the shorter side) of points sampled from
            a matched reference image.
    """

    max_features: int = 800
    ratio: float = 0.75
    min_inliers: int = 15
    min_inlier_ratio: float = 0.25
    ransac_threshold: float = 0.012
    max_scale_change: float = 3.0
    patch_tolerance: float = 18.0
    min_similarity: float = 0.6
    reference_step: float = 0.04


@dataclass(frozen=True, eq=False)
class ShotDescriptor:
    """Appearance of one frame, standing for its shot.

    Attributes:
        frame: index of the described frame (-1 for a reference image).
        gray: ``(H, W)`` uint8 luma at the working resolution.
        thumb: ``(16, 16)`` float32 zero-mean, unit-norm luma thumbnail.
        hist: ``(32,)`` float32 luma histogram, summing to 1.
        keypoints: ``(N, 2)`` float32 SIFT keypoint positions in pixels.
        descriptors: ``(N, 128)`` float32 SIFT descriptors (N may be 0).
    """

    frame: int
    gray: np.ndarray
    thumb: np.ndarray
    hist: np.ndarray
    keypoints: np.ndarray
    descriptors: np.ndarray

    @property
    def height(self) -> int:
        """Height of the described frame in pixels."""
        return int(self.gray.shape[0])

    @property
    def width(self) -> int:
        """Width of the described frame in pixels."""
        return int(self.gray.shape[1])


@dataclass(frozen=True)
class Palette:
    """Global colors as ab statistics per lightness band.

    Attributes:
        centers: ``(K,)`` float32 band centres in L units [0, 100].
        mean: ``(K, 2)`` float32 mean ab per band.
        std: ``(K, 2)`` float32 ab standard deviation per band.
        weight: ``(K,)`` float32 how much data each band saw (0 = no data).
    """

    centers: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True, eq=False)
class HintedShot:
    """What a hinted shot offers to others.

    Attributes:
        shot: the shot's number (0-based, in film order).
        descriptor: :func:`describe_frame` of its hint frame.
        hints: the hints of that frame (points, scribble, reference).
        palette: its global colors, e.g. ``palette_from_lab`` of the colorized hint frame,
            or None to derive them from the reference image or else the hints themselves.
    """

    shot: int
    descriptor: ShotDescriptor
    hints: FrameHints
    palette: Palette | None = None


@dataclass(frozen=True)
class BorrowRecord:
    """Which shot borrowed from which, and how (for the run report and the log).

    Attributes:
        shot: the borrowing shot.
        source_shot: the shot borrowed from, or None.
        method: ``"features"`` (points moved through a homography),
            ``"reference-features"`` (points sampled from a reference image),
            ``"palette"``, ``"reference-palette"`` or ``"none"``.
        similarity: appearance similarity to the source in [-1, 1] (0 when none).
        inliers: RANSAC inliers of the feature match (0 when none).
        points: number of point hints produced.
    """

    shot: int
    source_shot: int | None
    method: str
    similarity: float
    inliers: int
    points: int

    def describe(self) -> str:
        """One line for the log, e.g. ``shot 2 borrows from shot 0 by features (...)``."""
        if self.source_shot is None or self.method == "none":
            return f"shot {self.shot}: no similar hinted shot; colorized automatically"
        return (f"shot {self.shot} borrows from shot {self.source_shot} by {self.method} "
                f"(similarity {self.similarity:.2f}, {self.inliers} inliers, "
                f"{self.points} points)")


@dataclass(frozen=True, eq=False)
class Borrowed:
    """The result of :func:`borrow_hints` for one shot.

    Attributes:
        record: what happened.
        hints: point hints for the described frame of the shot (to be tracked through the
            shot as if it were a hint frame), or None.
        palette: global colors to apply after the network (:func:`apply_palette`), or None.
    """

    record: BorrowRecord
    hints: FrameHints | None
    palette: Palette | None


@dataclass(frozen=True)
class FeatureMatch:
    """A reliable SIFT + RANSAC correspondence between two frames.

    Attributes:
        homography: ``(3, 3)`` float64 mapping source pixels to destination pixels.
        inliers: number of RANSAC inliers.
        matches: number of ratio-test matches.
    """

    homography: np.ndarray
    inliers: int
    matches: int


def _check_gray(gray: np.ndarray, name: str) -> None:
    if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.dtype != np.uint8:
        found = (getattr(gray, "shape", None), getattr(gray, "dtype", type(gray).__name__))
        raise HintError(f"found shape/dtype {found}; expected (H, W) uint8", field=name)
    if min(gray.shape) < 8:
        raise HintError(f"found {gray.shape}; expected at least 8x8 pixels", field=name)


def describe_frame(gray: np.ndarray, *, frame: int = -1,
                   options: MatchOptions = MatchOptions()) -> ShotDescriptor:
    """Describe a frame's appearance for cross-shot matching.

    Args:
        gray: ``(H, W)`` uint8 full-range luma at the working resolution.
        frame: the frame's index (stored in the descriptor).
        options: ``max_features`` is used.

    Returns:
        The :class:`ShotDescriptor`.
    """
    _check_gray(gray, "gray")
    thumb = cv2.resize(gray, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb -= thumb.mean()
    thumb /= max(float(np.linalg.norm(thumb)), 1e-6)
    hist = np.bincount((gray // (256 // _BINS)).ravel(), minlength=_BINS).astype(np.float32)
    hist /= hist.sum()
    sift = cv2.SIFT_create(nfeatures=options.max_features)
    kps, desc = sift.detectAndCompute(gray, None)
    points = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    desc = np.zeros((0, 128), np.float32) if desc is None else desc.astype(np.float32)
    return ShotDescriptor(frame=frame, gray=gray.copy(), thumb=thumb, hist=hist,
                          keypoints=points, descriptors=desc)


def describe_reference(rgb: np.ndarray, like: ShotDescriptor,
                       options: MatchOptions = MatchOptions()) -> ShotDescriptor:
    """Describe a reference image at the scale of the frames it will be matched with.

    Args:
        rgb: ``(h, w, 3)`` uint8 RGB reference image.
        like: a frame descriptor; the reference is resized so its shorter side equals that
            frame's shorter side.
        options: ``max_features`` is used.

    Returns:
        The :class:`ShotDescriptor` of the reference's luma (``frame = -1``).
    """
    small = _resize_like(rgb, like)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return describe_frame(gray, frame=-1, options=options)


def _resize_like(rgb: np.ndarray, like: ShotDescriptor) -> np.ndarray:
    short = min(like.height, like.width)
    scale = short / min(rgb.shape[:2])
    size = (max(8, round(rgb.shape[1] * scale)), max(8, round(rgb.shape[0] * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), size, interpolation=interp)


def appearance_similarity(a: ShotDescriptor, b: ShotDescriptor) -> float:
    """How alike two frames look overall, in [-1, 1].

    The mean of the luma thumbnails' correlation and the luma histograms' correlation.
    """
    thumb = float((a.thumb * b.thumb).sum())
    ha, hb = a.hist - a.hist.mean(), b.hist - b.hist.mean()
    denom = float(np.linalg.norm(ha) * np.linalg.norm(hb))
    hist = float((ha * hb).sum()) / denom if denom > 1e-12 else 0.0
    return 0.5 * (thumb + hist)


def match_features(src: ShotDescriptor, dst: ShotDescriptor,
                   options: MatchOptions = MatchOptions()) -> tuple[FeatureMatch | None, int]:
    """SIFT correspondences from ``src`` to ``dst`` checked by a RANSAC homography.

    Args:
        src: the frame hints come from.
        dst: the frame they would go to.
        options: thresholds.

    Returns:
        ``(match, inliers)``: the :class:`FeatureMatch` when it is reliable (enough
        inliers, enough of the matches, a homography without extreme zoom, shear or
        perspective), else None; and the inlier count either way.
    """
    if len(src.descriptors) < 2 or len(dst.descriptors) < 2:
        return None, 0
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(src.descriptors, dst.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < options.ratio * p[1].distance]
    if len(good) < max(options.min_inliers, 4):
        return None, 0
    a = src.keypoints[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    b = dst.keypoints[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    threshold = options.ransac_threshold * min(dst.height, dst.width)
    homography, inlier_mask = cv2.findHomography(a, b, cv2.RANSAC, threshold, maxIters=2000,
                                                 confidence=0.995)
    if homography is None or inlier_mask is None:
        return None, 0
    inliers = int(inlier_mask.sum())
    if inliers < options.min_inliers or inliers < options.min_inlier_ratio * len(good):
        return None, inliers
    if not _sane(homography, src, options.max_scale_change):
        return None, inliers
    return FeatureMatch(homography=homography, inliers=inliers, matches=len(good)), inliers


def _sane(h: np.ndarray, src: ShotDescriptor, max_scale: float) -> bool:
    """Refuse degenerate homographies: extreme zoom, a flip, strong perspective."""
    if not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-9:
        return False
    h = h / h[2, 2]
    det = float(np.linalg.det(h[:2, :2]))
    if det <= 0 or not (1 / max_scale**2 <= det <= max_scale**2):
        return False
    corners = np.array([[0, 0], [src.width, 0], [src.width, src.height], [0, src.height]],
                       np.float32).reshape(-1, 1, 2)
    w = corners.reshape(-1, 2) @ h[2, :2] + 1.0
    return bool(np.all(w > 0.2) and np.all(np.isfinite(cv2.perspectiveTransform(corners, h))))


def transfer_points(points: Sequence[HintPoint], match: FeatureMatch, src: ShotDescriptor,
                    dst: ShotDescriptor, options: MatchOptions = MatchOptions(),
                    *, weight: float = 1.0) -> tuple[HintPoint, ...]:
    """Move point hints from ``src`` to ``dst`` through a feature match.

    A point is kept only when it lands inside ``dst`` and the luma around it there looks
    like the luma around it in ``src`` (after warping; ``patch_tolerance``).

    Args:
        points: hints in ``src``'s normalized coordinates.
        match: from :func:`match_features`.
        src: the frame the points are on.
        dst: the frame they go to.
        options: ``patch_tolerance`` is used.
        weight: the weight given to moved points, in (0, 1].

    Returns:
        The kept points in ``dst``'s normalized coordinates; patch sizes scale with the
        homography's zoom.
    """
    if not points:
        return ()
    xy = np.array([[p.x * src.width, p.y * src.height] for p in points], np.float32)
    moved = cv2.perspectiveTransform(xy.reshape(-1, 1, 2), match.homography).reshape(-1, 2)
    warped = cv2.warpPerspective(src.gray, match.homography, (dst.width, dst.height),
                                 flags=cv2.INTER_LINEAR, borderValue=0)
    valid = cv2.warpPerspective(np.ones_like(src.gray), match.homography,
                                (dst.width, dst.height), flags=cv2.INTER_NEAREST)
    diff = np.abs(warped.astype(np.float32) - dst.gray.astype(np.float32))
    local = cv2.blur(diff, (9, 9))
    zoom = float(np.sqrt(abs(np.linalg.det(match.homography[:2, :2] / match.homography[2, 2]))))
    zoom *= min(src.height, src.width) / min(dst.height, dst.width)
    kept = []
    for p, (u, v) in zip(points, moved, strict=True):
        if not (0 <= u < dst.width and 0 <= v < dst.height):
            continue
        row, col = int(v), int(u)
        if not valid[row, col] or local[row, col] > options.patch_tolerance:
            continue
        size = None if p.size is None else float(min(max(p.size * zoom, 1e-4), 1.0))
        kept.append(HintPoint(float(u) / dst.width, float(v) / dst.height, p.ab, size,
                              weight=min(p.weight, weight)))
    return tuple(kept)


def palette_from_lab(lightness: np.ndarray, ab: np.ndarray, weights: np.ndarray | None = None,
                     bands: int = 8) -> Palette:
    """Global colors of an image as per-lightness-band ab statistics.

    Args:
        lightness: ``(H, W)`` float32 L in [0, 100].
        ab: ``(H, W, 2)`` float32 chroma.
        weights: ``(H, W)`` float32 >= 0 per-pixel weight (e.g. a hint mask), or None.
        bands: number of lightness bands.

    Returns:
        The :class:`Palette` (soft, triangular band membership).
    """
    lightness = np.asarray(lightness, np.float32)
    ab = np.asarray(ab, np.float32)
    if ab.shape != (*lightness.shape, 2):
        raise HintError(f"ab has shape {ab.shape}; expected {(*lightness.shape, 2)}",
                        field="ab")
    w = np.ones(lightness.shape, np.float32) if weights is None else np.asarray(weights,
                                                                               np.float32)
    centers = np.linspace(0, 100, bands, dtype=np.float32)
    member = _membership(lightness.ravel(), centers) * w.ravel()[:, None]  # (N, K)
    flat = ab.reshape(-1, 2)
    total = member.sum(axis=0)
    safe = np.maximum(total, 1e-6)[:, None]
    mean = member.T @ flat / safe
    var = member.T @ (flat**2) / safe - mean**2
    std = np.sqrt(np.maximum(var, 0.0))
    return Palette(centers=centers, mean=mean.astype(np.float32), std=std.astype(np.float32),
                   weight=total.astype(np.float32))


def palette_from_rgb(rgb: np.ndarray, bands: int = 8) -> Palette:
    """Global colors of an RGB image (e.g. a ``reference``), see :func:`palette_from_lab`.

    Args:
        rgb: ``(H, W, 3)`` uint8 sRGB.
        bands: number of lightness bands.
    """
    lab = rgb_to_lab(np.ascontiguousarray(rgb[:, :, :3]))
    return palette_from_lab(lab[:, :, 0], lab[:, :, 1:], bands=bands)


def palette_from_hints(hints: FrameHints, gray: np.ndarray, bands: int = 8) -> Palette:
    """Global colors implied by a frame's hints (their ab at the frame's lightness).

    Args:
        hints: the frame's hints.
        gray: ``(H, W)`` uint8 luma of that frame at the working resolution.
        bands: number of lightness bands.
    """
    ab, mask = rasterize_hints(hints, gray.shape[0], gray.shape[1])
    return palette_from_lab(gray_to_lightness(gray), ab, mask, bands=bands)


def _membership(lightness: np.ndarray, centers: np.ndarray) -> np.ndarray:
    spacing = float(centers[1] - centers[0]) if len(centers) > 1 else 100.0
    return np.clip(1.0 - np.abs(lightness[:, None] - centers[None, :]) / spacing, 0.0, 1.0)


def apply_palette(lightness: np.ndarray, ab: np.ndarray, palette: Palette,
                  strength: float = 1.0, min_weight: float = 1.0) -> np.ndarray:
    """Move predicted chroma towards a palette, band by band of lightness.

    In each lightness band, the prediction's ab mean and spread are moved to the
    palette's (mean shift plus a spread ratio clipped to [0.5, 2]); bands are blended by
    soft membership so there are no contours. Bands the palette has no data for use the
    palette's overall statistics. Pure.

    Args:
        lightness: ``(H, W)`` float32 L in [0, 100].
        ab: ``(H, W, 2)`` float32 predicted chroma.
        palette: target colors.
        strength: 0 = unchanged, 1 = full transfer.
        min_weight: palette band weight below which the overall statistics are used.

    Returns:
        ``(H, W, 2)`` float32 chroma, clipped to [-128, 127].
    """
    lightness = np.asarray(lightness, np.float32)
    ab = np.asarray(ab, np.float32)
    if ab.shape != (*lightness.shape, 2):
        raise HintError(f"ab has shape {ab.shape}; expected {(*lightness.shape, 2)}",
                        field="ab")
    if palette.weight.sum() <= 0 or strength <= 0:
        return ab.copy()
    source = palette_from_lab(lightness, ab, bands=len(palette.centers))
    total = float(palette.weight.sum())
    g_mean = (palette.mean * palette.weight[:, None]).sum(axis=0) / total
    g_std = (palette.std * palette.weight[:, None]).sum(axis=0) / total
    has = (palette.weight >= min_weight)[:, None]
    t_mean = np.where(has, palette.mean, g_mean)
    t_std = np.where(has, palette.std, g_std)
    ratio = np.clip(t_std / np.maximum(source.std, 1e-3), 0.5, 2.0)
    member = _membership(lightness.ravel(), palette.centers)
    member /= np.maximum(member.sum(axis=1, keepdims=True), 1e-6)
    flat = ab.reshape(-1, 2)
    out = np.zeros_like(flat)
    for k in range(len(palette.centers)):
        moved = (flat - source.mean[k]) * ratio[k] + t_mean[k]
        out += member[:, k : k + 1] * moved
    result = (1.0 - strength) * flat + strength * out
    return np.clip(result, -128.0, 127.0).reshape(ab.shape).astype(np.float32)


def _reference_points(rgb: np.ndarray, ref: ShotDescriptor, step: float) -> tuple[HintPoint, ...]:
    """Grid points carrying a reference image's colors (in its normalized coordinates)."""
    lab = rgb_to_lab(_resize_like_shape(rgb, ref.height, ref.width))
    cell = max(2, round(step * min(ref.height, ref.width)))
    pts = []
    for top in range(0, ref.height - cell + 1, cell):
        for left in range(0, ref.width - cell + 1, cell):
            block = lab[top : top + cell, left : left + cell, 1:]
            a, b = block.reshape(-1, 2).mean(axis=0)
            pts.append(HintPoint((left + cell / 2) / ref.width, (top + cell / 2) / ref.height,
                                 (float(a), float(b)), (cell / 2) / min(ref.height, ref.width)))
    return tuple(pts)


def _resize_like_shape(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    return cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), (width, height),
                      interpolation=cv2.INTER_AREA)


def reference_guidance(shot: int, target: ShotDescriptor, reference_rgb: np.ndarray,
                       options: MatchOptions = MatchOptions(),
                       source_shot: int | None = None) -> Borrowed:
    """Use a ``reference`` image: its matched features, else its global colors.

    Points sampled from the reference are moved into the frame when the reference shows
    the same place (SIFT + RANSAC); otherwise only its palette is returned.

    Args:
        shot: the shot being colorized.
        target: descriptor of a frame of that shot.
        reference_rgb: ``(h, w, 3)`` uint8 RGB reference image.
        options: thresholds.
        source_shot: the shot whose hint file named the reference (for the record).

    Returns:
        :class:`Borrowed` with points for ``target.frame`` (``"reference-features"``) or
        a palette (``"reference-palette"``).
    """
    ref = describe_reference(reference_rgb, target, options)
    palette = palette_from_rgb(reference_rgb)
    match, inliers = match_features(ref, target, options)
    similarity = appearance_similarity(ref, target)
    src = shot if source_shot is None else source_shot
    if match is not None:
        points = transfer_points(_reference_points(reference_rgb, ref, options.reference_step),
                                 match, ref, target, options, weight=0.8)
        if points:
            record = BorrowRecord(shot, src, "reference-features", similarity, inliers,
                                  len(points))
            return Borrowed(record, FrameHints(frame=target.frame, points=points), palette)
    record = BorrowRecord(shot, src, "reference-palette", similarity, inliers, 0)
    return Borrowed(record, None, palette)


def borrow_hints(shot: int, target: ShotDescriptor, hinted: Sequence[HintedShot],
                 options: MatchOptions = MatchOptions()) -> Borrowed:
    """Find hints for a shot that has no hint frame, from the most similar hinted shot.

    Args:
        shot: the unhinted shot's number.
        target: :func:`describe_frame` of one of its frames (e.g. its first).
        hinted: what every hinted shot offers.
        options: thresholds.

    Returns:
        :class:`Borrowed`: moved points (``"features"``), a reference's points
        (``"reference-features"``), a palette (``"palette"`` / ``"reference-palette"``),
        or nothing (``"none"``). Ties go to the first hinted shot in ``hinted``.
    """
    best_feature: tuple[int, HintedShot, FeatureMatch, bool] | None = None
    best_similar: tuple[float, HintedShot] | None = None
    for candidate in hinted:
        similarity = appearance_similarity(candidate.descriptor, target)
        if best_similar is None or similarity > best_similar[0]:
            best_similar = (similarity, candidate)
        match, inliers = match_features(candidate.descriptor, target, options)
        if match is not None and (best_feature is None or inliers > best_feature[0]):
            best_feature = (inliers, candidate, match, False)
        ref_rgb = candidate.hints.reference_rgb
        if ref_rgb is not None:
            ref = describe_reference(ref_rgb, target, options)
            match, inliers = match_features(ref, target, options)
            if match is not None and (best_feature is None or inliers > best_feature[0]):
                best_feature = (inliers, candidate, match, True)
    if best_feature is not None:
        inliers, candidate, match, is_reference = best_feature
        similarity = appearance_similarity(candidate.descriptor, target)
        if is_reference:
            ref_rgb = candidate.hints.reference_rgb
            borrowed = reference_guidance(shot, target, ref_rgb, options,
                                          source_shot=candidate.shot)
            if borrowed.hints is not None:
                return borrowed
        else:
            src = candidate.descriptor
            points = candidate.hints.points + scribble_as_points(candidate.hints, src.height,
                                                                 src.width)
            moved = transfer_points(points, match, src, target, options)
            if moved:
                record = BorrowRecord(shot, candidate.shot, "features", similarity, inliers,
                                      len(moved))
                return Borrowed(record, FrameHints(frame=target.frame, points=moved), None)
    if best_similar is not None and best_similar[0] >= options.min_similarity:
        similarity, candidate = best_similar
        method = "reference-palette" if candidate.palette is None and \
            candidate.hints.reference_rgb is not None else "palette"
        record = BorrowRecord(shot, candidate.shot, method, similarity, 0, 0)
        return Borrowed(record, None, _palette_of(candidate))
    return Borrowed(BorrowRecord(shot, None, "none", 0.0, 0, 0), None, None)


def _palette_of(candidate: HintedShot) -> Palette:
    if candidate.palette is not None:
        return candidate.palette
    if candidate.hints.reference_rgb is not None:
        return palette_from_rgb(candidate.hints.reference_rgb)
    return palette_from_hints(candidate.hints, candidate.descriptor.gray)
