"""``python -m vidcolor``: the command line (see :mod:`vidcolor.cli`)."""

from vidcolor.cli import main

if __name__ == "__main__":
    main()
