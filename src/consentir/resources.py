"""Where the non-Python parts of the project live: sql/, templates/, static/, locales/.

In a checkout (editable install) they are the top-level folders of the repository; in a
built wheel they are packaged under consentir/_resources/.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    packaged = _PACKAGE / "_resources" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parents[1] / name
