"""The studio: a local web page to paint hints on a film and watch it recolor live.

A door like the CLI: it reaches the core only through :mod:`vidcolor.api` (an
import-linter contract). Start it with ``vidcolor studio FILM --hints DIR``; the HTTP API
is documented in ``docs/STUDIO.md``.
"""
