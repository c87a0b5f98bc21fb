"""Exit with a message unless this Python is new enough for vqspeech (``scripts/_venv.sh`` runs it with the
interpreter that will create ``.venv``)."""

import sys

MINIMUM = (3, 11)


def main() -> None:
    if sys.version_info < MINIMUM:
        sys.exit(f"vqspeech needs Python >= {MINIMUM[0]}.{MINIMUM[1]} (this is {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
