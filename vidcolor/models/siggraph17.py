"""The SIGGRAPH 2017 user-guided colorization network, with a width multiplier.

Zhang et al., "Real-Time User-Guided Image Colorization with Learned Deep Priors"; this
version adds a width multiplier and optional extra input channels.

At full width with no extra inputs, :class:`SIGGRAPHGenerator` has exactly the parameter
names and shapes of the official PyTorch release (``siggraph17-df00044c.pth``), so that file's
state dict loads into it with ``strict=True``.

Layout (``w`` = width multiplier; every channel count is scaled except the 529 classes and
the 2 ab outputs)::

    model1   conv 3x3 (4+k -> 64w), relu, conv (64w -> 64w), relu, BN          full res
    model2   conv (64w -> 128w), relu, conv, relu, BN                          1/2 ([::2, ::2])
    model3   3 x conv (-> 256w), relu, BN                                      1/4
    model4   3 x conv (-> 512w), relu, BN                                      1/8
    model5   3 x conv dilation 2 (512w), relu, BN                              1/8
    model6   3 x conv dilation 2 (512w), relu, BN                              1/8
    model7   3 x conv (512w), relu, BN                                         1/8
    model8up convT 4x4 s2 (512w -> 256w) + model3short8 conv (256w -> 256w)    1/4
    model8   relu, conv, relu, conv, relu, BN (256w)                           1/4
    model9up convT (256w -> 128w) + model2short9 conv (128w -> 128w)           1/2
    model9   relu, conv, relu, BN (128w)                                       1/2
    model10up convT (128w -> 128w) + model1short10 conv (64w -> 128w)          full res
    model10  relu, conv (128w), leaky relu 0.2                                 full res
    model_out   conv 1x1 (128w -> 2), tanh                                     regression head
    model_class conv 1x1 (256w -> 529) on the model8 output, upsampled x4      palette head v1

Palette head version 2 (``class_head_version=2``, vidcolor's own weights from issue 13 on):
the 1x1 head above reads only the trunk's features, and with ``residual=True`` those carry a
*correction* to the propagation, not a hint's absolute color, so a head on them cannot follow
the hints. Version 2 also sees the chroma, all average-pooled to the features' quarter
resolution and detached (so the head never pulls the trunk): the network's own final ab
(propagation + correction) / 110, the hint ab / 110 and the hint mask, and the
propagation channels (ab / 110 and the two confidences). A learned gate decides, per cell,
how far to trust the network's own color: the logits are a free term plus the gate times a
fixed kernel ``-|ab - c_k|^2 / (2 * 10^2)`` around the pooled network ab (bin centres
``c_k``). The kernel gives the head a well-conditioned way to put its mass on the network's
color; a plain linear read of ab needs weights far larger than a short training reaches (a
first version without the kernel barely followed saturated hints; weights/MODEL_CARD.md)::

    model_class.hidden  conv 3x3 (256w + 9 -> 64), relu                        1/4
    model_class.logits  conv 1x1 (64 -> 529)                                   free term
    model_class.gate    conv 1x1 (64 -> 1), softplus                           trust in ab
    logits = free + gate * kernel(pooled ab), upsampled x4

Normalisation is the official one: the network sees ``(L - 50) / 100``, ``ab / 110`` and
``mask - mask_cent`` (``mask_cent`` is 0 for the official release), and its tanh output is
multiplied by 110.

vidcolor's own default weights use ``extra_inputs=3`` and ``residual=True``: the extra channels
are an edge-aware propagation of the hints (``vidcolor.models.propagate``), two ab channels in
Lab units and one confidence channel in [0, 1]; the network output is added to the
propagated ab, and ``model_out`` starts at zero, so an untrained network returns the
propagation and training only has to learn corrections and priors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidcolor.errors import InputError

L_CENT = 50.0
L_NORM = 100.0
AB_NORM = 110.0
NUM_CLASSES = 529
HEAD_VERSIONS = (1, 2)
HEAD_HIDDEN = 64
# Chroma channels palette head v2 sees besides the features: final ab (2), hint ab (2),
# hint mask (1), propagation (4: ab and two confidences; zeros for a network without it).
HEAD_CHROMA_CHANNELS = 9
HEAD_KERNEL_SIGMA = 10.0  # ab units: one bin step


def _scaled(channels: int, width_mult: float) -> int:
    """A channel count scaled by the width multiplier, at least 4 and a multiple of 4."""
    if width_mult == 1.0:
        return channels
    return max(4, int(round(channels * width_mult / 4.0)) * 4)


def _conv(cin: int, cout: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        cin, cout, kernel_size=3, stride=1, padding=dilation, dilation=dilation, bias=True
    )


def _block(
    cin: int,
    cout: int,
    n_convs: int,
    *,
    dilation: int = 1,
    init_relu: bool = False,
    norm: bool = True,
):
    """conv-relu repeated ``n_convs`` times, then BatchNorm (the official layer order)."""
    layers: list[nn.Module] = [nn.ReLU(True)] if init_relu else []
    for i in range(n_convs):
        layers += [_conv(cin if i == 0 else cout, cout, dilation), nn.ReLU(True)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


class ChromaPaletteHead(nn.Module):
    """Palette head version 2: features and chroma -> 529 logits (module docstring).

    Args:
        feature_channels: channels of the model8 features (256w).
    """

    def __init__(self, feature_channels: int):
        super().__init__()
        self.hidden = _conv(feature_channels + HEAD_CHROMA_CHANNELS, HEAD_HIDDEN)
        self.logits = nn.Conv2d(HEAD_HIDDEN, NUM_CLASSES, kernel_size=1, bias=True)
        self.gate = nn.Conv2d(HEAD_HIDDEN, 1, kernel_size=1, bias=True)
        # (529, 2) bin centres in network units (ab / 110); rebuilt, not saved.
        self.register_buffer("centers", bin_to_ab(torch.arange(NUM_CLASSES)) / AB_NORM,
                             persistent=False)

    def forward(self, features: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        """Logits from quarter-resolution inputs.

        Args:
            features: ``(B, 256w, h, w)`` model8 output.
            chroma: ``(B, 9, h, w)``: network ab / 110, hint ab / 110, hint mask,
                propagation ab / 110 and its two confidences.

        Returns:
            ``(B, 529, h, w)`` logits.
        """
        hidden = F.relu(self.hidden(torch.cat([features, chroma], dim=1)))
        ab = chroma[:, :2]
        centers = self.centers.to(ab.dtype)
        # |ab - c_k|^2 = |ab|^2 - 2 c_k . ab + |c_k|^2, without a (B, 2, 529, h, w) temporary.
        dist = (ab.square().sum(dim=1, keepdim=True)
                - 2.0 * torch.einsum("bchw,kc->bkhw", ab, centers)
                + centers.square().sum(dim=1)[None, :, None, None])
        kernel = -((AB_NORM / HEAD_KERNEL_SIGMA) ** 2 / 2.0) * dist
        return self.logits(hidden) + F.softplus(self.gate(hidden)) * kernel


class SIGGRAPHGenerator(nn.Module):
    """The SIGGRAPH17 local-hints network.

    Args:
        width_mult: scales every channel count (1.0 = the official network, 34M params).
        extra_inputs: number of extra input channels ``k`` concatenated after L, ab, mask
            (they widen the first convolution only).
        residual: when True (needs ``extra_inputs >= 2``), ``extra[:, :2]`` is a base ab
            estimate in Lab units; the output is that base plus the network's correction,
            and ``model_out``'s convolution is zero-initialised.
        mask_cent: subtracted from the {0, 1} hint mask before it enters the network
            (0 for the official release).
        class_head_version: 1, the official 1x1 palette head on the model8 features (it
            ignores the hints when ``residual``); 2, the head that also sees the chroma
            (see the module docstring).
    """

    def __init__(
        self,
        width_mult: float = 1.0,
        extra_inputs: int = 0,
        *,
        residual: bool = False,
        mask_cent: float = 0.0,
        class_head_version: int = 1,
    ):
        super().__init__()
        if not width_mult > 0:
            raise InputError(
                f"width_mult is {width_mult}, expected a number > 0", field="width_mult"
            )
        if extra_inputs < 0:
            raise InputError(f"extra_inputs is {extra_inputs}, expected >= 0", field="extra_inputs")
        if residual and extra_inputs < 2:
            raise InputError(
                f"residual needs extra_inputs >= 2 (the base ab), found {extra_inputs}",
                field="extra_inputs",
            )
        if class_head_version not in HEAD_VERSIONS:
            raise InputError(
                f"class_head_version is {class_head_version!r}, expected one of {HEAD_VERSIONS}",
                field="class_head_version",
            )
        self.class_head_version = int(class_head_version)
        self.width_mult = float(width_mult)
        self.extra_inputs = int(extra_inputs)
        self.residual = bool(residual)
        self.mask_cent = float(mask_cent)

        c64, c128, c256, c512 = (_scaled(c, width_mult) for c in (64, 128, 256, 512))
        self.model1 = _block(4 + extra_inputs, c64, 2)
        self.model2 = _block(c64, c128, 2)
        self.model3 = _block(c128, c256, 3)
        self.model4 = _block(c256, c512, 3)
        self.model5 = _block(c512, c512, 3, dilation=2)
        self.model6 = _block(c512, c512, 3, dilation=2)
        self.model7 = _block(c512, c512, 3)
        self.model8up = nn.Sequential(
            nn.ConvTranspose2d(c512, c256, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model3short8 = nn.Sequential(_conv(c256, c256))
        self.model8 = _block(c256, c256, 2, init_relu=True)
        self.model9up = nn.Sequential(
            nn.ConvTranspose2d(c256, c128, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model2short9 = nn.Sequential(_conv(c128, c128))
        self.model9 = _block(c128, c128, 1, init_relu=True)
        self.model10up = nn.Sequential(
            nn.ConvTranspose2d(c128, c128, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model1short10 = nn.Sequential(_conv(c64, c128))
        self.model10 = nn.Sequential(
            nn.ReLU(True), _conv(c128, c128), nn.LeakyReLU(negative_slope=0.2)
        )
        if class_head_version == 1:
            self.model_class = nn.Sequential(
                nn.Conv2d(c256, NUM_CLASSES, kernel_size=1, stride=1, bias=True)
            )
        else:
            self.model_class = ChromaPaletteHead(c256)
        self.model_out = nn.Sequential(
            nn.Conv2d(c128, 2, kernel_size=1, stride=1, bias=True), nn.Tanh()
        )
        if residual:
            nn.init.zeros_(self.model_out[0].weight)
            nn.init.zeros_(self.model_out[0].bias)

    def _check(self, lightness, hint_ab, hint_mask, extra) -> None:
        if lightness.ndim != 4 or lightness.shape[1] != 1:
            raise InputError(
                f"lightness has shape {tuple(lightness.shape)}, expected (B, 1, H, W)",
                field="lightness",
            )
        b, _, h, w = lightness.shape
        if h % 8 or w % 8:
            raise InputError(
                f"frame size is {h}x{w}, expected both sides multiples of 8", field="lightness"
            )
        for name, t, c in (("hint_ab", hint_ab, 2), ("hint_mask", hint_mask, 1)):
            if tuple(t.shape) != (b, c, h, w):
                raise InputError(
                    f"{name} has shape {tuple(t.shape)}, expected {(b, c, h, w)}", field=name
                )
        k = self.extra_inputs
        if k and (extra is None or tuple(extra.shape) != (b, k, h, w)):
            found = None if extra is None else tuple(extra.shape)
            raise InputError(f"extra has shape {found}, expected {(b, k, h, w)}", field="extra")
        if not k and extra is not None:
            raise InputError(
                f"extra has shape {tuple(extra.shape)}, expected None (no extra inputs)",
                field="extra",
            )

    def forward_features(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network; see :meth:`forward` for the arguments.

        Returns:
            ``(ab, features)``: ab ``(B, 2, H, W)`` float in [-110, 110]; features the
            model8 output ``(B, 256w, H/4, W/4)``, the input of the class head.
        """
        self._check(lightness, hint_ab, hint_mask, extra)
        parts = [(lightness - L_CENT) / L_NORM, hint_ab / AB_NORM, hint_mask - self.mask_cent]
        if extra is not None:
            if self.residual:
                parts += [extra[:, :2] / AB_NORM, extra[:, 2:]]
            else:
                parts.append(extra)
        conv1_2 = self.model1(torch.cat(parts, dim=1))
        conv2_2 = self.model2(conv1_2[:, :, ::2, ::2])
        conv3_3 = self.model3(conv2_2[:, :, ::2, ::2])
        conv4_3 = self.model4(conv3_3[:, :, ::2, ::2])
        conv7_3 = self.model7(self.model6(self.model5(conv4_3)))
        conv8_3 = self.model8(self.model8up(conv7_3) + self.model3short8(conv3_3))
        conv9_3 = self.model9(self.model9up(conv8_3) + self.model2short9(conv2_2))
        conv10_2 = self.model10(self.model10up(conv9_3) + self.model1short10(conv1_2))
        out = self.model_out(conv10_2)
        if self.residual:
            out = torch.clamp(out + extra[:, :2] / AB_NORM, -1.0, 1.0)
        return out * AB_NORM, conv8_3

    def forward(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict chroma from lightness and sparse hints.

        Args:
            lightness: ``(B, 1, H, W)`` float L in [0, 100]; H and W multiples of 8.
            hint_ab: ``(B, 2, H, W)`` float hint chroma in Lab units (about [-128, 127]),
                0 where there is no hint.
            hint_mask: ``(B, 1, H, W)`` float, 1 where a hint is, 0 elsewhere.
            extra: ``(B, k, H, W)`` extra channels when ``extra_inputs = k > 0``, else None.

        Returns:
            ``(B, 2, H, W)`` float ab in [-110, 110].
        """
        return self.forward_features(lightness, hint_ab, hint_mask, extra)[0]

    def forward_with_logits(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Chroma and the 529-way ab-bin logits (palette suggestions) in one pass.

        The arguments are those of :meth:`forward`.

        Returns:
            ``(ab (B, 2, H, W), logits (B, 529, H, W))``: the logits are the class head on
            the model8 features, upsampled x4 bilinearly as the official code does.
            Softmax over dim 1 gives a distribution over the 23x23 ab grid:
            bin ``i * 23 + j`` is centred at ``a = 10 i - 110``, ``b = 10 j - 110``
            (:func:`ab_to_bin`).
        """
        ab, features = self.forward_features(lightness, hint_ab, hint_mask, extra)
        logits = F.interpolate(
            self.class_head(features, ab, hint_ab, hint_mask, extra),
            scale_factor=4, mode="bilinear", align_corners=False,
        )
        return ab, logits

    def class_logits_at(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None,
        points: torch.Tensor,
    ) -> torch.Tensor:
        """The logits of :meth:`class_logits` at some pixels only.

        The head's quarter-resolution logits are sampled bilinearly at the points, which is
        what the x4 upsampling (``align_corners=False``, edges clamped) gives there, without
        building the ``(B, 529, H, W)`` map.

        Args:
            lightness: as for :meth:`forward` (and ``hint_ab``, ``hint_mask``, ``extra``).
            hint_ab: see :meth:`forward`.
            hint_mask: see :meth:`forward`.
            extra: see :meth:`forward`.
            points: ``(P, 2)`` integer ``(y, x)`` pixel positions, shared by the batch.

        Returns:
            ``(B, 529, P)`` logits.
        """
        ab, features = self.forward_features(lightness, hint_ab, hint_mask, extra)
        low = self.class_head(features, ab, hint_ab, hint_mask, extra)
        height, width = lightness.shape[-2:]
        pts = points.to(device=low.device, dtype=low.dtype)
        grid = torch.stack([(2.0 * pts[:, 1] + 1.0) / width - 1.0,
                            (2.0 * pts[:, 0] + 1.0) / height - 1.0], dim=-1)
        grid = grid[None, None].expand(low.shape[0], 1, -1, 2)
        return F.grid_sample(low, grid, mode="bilinear", padding_mode="border",
                             align_corners=False)[:, :, 0]

    def class_head(
        self,
        features: torch.Tensor,
        ab: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None,
    ) -> torch.Tensor:
        """The palette head's logits at the features' resolution.

        Every input is detached: the head's loss never reaches the regression trunk.

        Args:
            features: ``(B, 256w, H/4, W/4)`` model8 output (:meth:`forward_features`).
            ab: ``(B, 2, H, W)`` the network's ab output in Lab units.
            hint_ab: ``(B, 2, H, W)`` hint chroma in Lab units.
            hint_mask: ``(B, 1, H, W)`` 1 at hints.
            extra: the extra inputs given to the trunk (or None).

        Returns:
            ``(B, 529, H/4, W/4)`` logits.
        """
        features = features.detach()
        if self.class_head_version == 1:
            return self.model_class(features)
        b, _, h, w = ab.shape
        if self.residual and extra is not None and extra.shape[1] == 4:
            prop = torch.cat([extra[:, :2] / AB_NORM, extra[:, 2:]], dim=1)
        else:  # no propagation input (or another layout): the head sees zeros there
            prop = ab.new_zeros((b, 4, h, w))
        chroma = torch.cat([ab / AB_NORM, hint_ab / AB_NORM, hint_mask, prop], dim=1).detach()
        chroma = F.avg_pool2d(chroma.to(features.dtype), 4)
        return self.model_class(features, chroma)

    def class_logits(
        self,
        lightness: torch.Tensor,
        hint_ab: torch.Tensor,
        hint_mask: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The 529-way ab-bin logits ``(B, 529, H, W)``; see :meth:`forward_with_logits`."""
        return self.forward_with_logits(lightness, hint_ab, hint_mask, extra)[1]


AB_BINS_PER_AXIS = 23
AB_BIN_STEP = 10.0


def ab_to_bin(ab: torch.Tensor) -> torch.Tensor:
    """The class-head bin of each ab value (the official 23x23 grid, 10 units apart).

    Args:
        ab: ``(B, 2, H, W)`` float chroma in Lab units; clipped to [-110, 110].

    Returns:
        ``(B, H, W)`` int64 bin index in [0, 528]: ``round((a + 110) / 10) * 23 +
        round((b + 110) / 10)``.
    """
    q = torch.round((ab.clamp(-AB_NORM, AB_NORM) + AB_NORM) / AB_BIN_STEP).long()
    return q[:, 0] * AB_BINS_PER_AXIS + q[:, 1]


def bin_to_ab(index: torch.Tensor) -> torch.Tensor:
    """The ab centre of class-head bins: ``(...,)`` int -> ``(..., 2)`` float."""
    a = (index // AB_BINS_PER_AXIS).float() * AB_BIN_STEP - AB_NORM
    b = (index % AB_BINS_PER_AXIS).float() * AB_BIN_STEP - AB_NORM
    return torch.stack([a, b], dim=-1)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not, BatchNorm buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
