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
    model_class conv 1x1 (256w -> 529) on the model8 output, upsampled x4      palette head

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
    """

    def __init__(
        self,
        width_mult: float = 1.0,
        extra_inputs: int = 0,
        *,
        residual: bool = False,
        mask_cent: float = 0.0,
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
        self.model_class = nn.Sequential(
            nn.Conv2d(c256, NUM_CLASSES, kernel_size=1, stride=1, bias=True)
        )
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
            self.model_class(features), scale_factor=4, mode="bilinear", align_corners=False
        )
        return ab, logits

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
