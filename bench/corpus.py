"""Where the benchmarks find their images: the team's corpus, not the repository's test images.

IMAGE_CORPUS names the folder (default `../shared/images`, beside the checkout; its README gives
every file's source and licence). `require` stops a benchmark with what is missing and where it
looked, instead of a traceback or a silently smaller run.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("IMAGE_CORPUS", REPO.parent / "shared" / "images"))


def require(*relative: str) -> list[Path]:
    """The corpus files (glob patterns allowed) a benchmark needs; exits 2 naming those missing."""
    found, missing = [], []
    for pattern in relative:
        matches = sorted(CORPUS.glob(pattern))
        (found.extend(matches) if matches else missing.append(pattern))
    if missing:
        print(
            f"{Path(sys.argv[0]).name}: the image corpus at {CORPUS} lacks {', '.join(missing)}.\n"
            "Set IMAGE_CORPUS to the team's corpus (../shared/images in the workplace; see its README).",
            file=sys.stderr,
        )
        sys.exit(2)
    return found
