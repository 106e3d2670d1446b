"""Temporal stage: optical flow on luma, chroma warping, flicker smoothing and shot cuts.

Imports only the shared core (never ``io``, ``hints`` or ``models``): frames, chroma and flows
arrive as arrays from ``vidcolor.run``.
"""
