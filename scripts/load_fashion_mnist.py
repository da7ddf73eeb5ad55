#!/usr/bin/python3
"""Fashion-MNIST for the vecsearch demo. Python 3 standard library only.

Reads the IDX files of the Debian package dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/*.gz) and writes what psql needs:

  load_fashion_mnist.py copy train [--limit N]   COPY text rows: id<TAB>label<TAB>[p0,p1,...,p783]
  load_fashion_mnist.py copy test  [--limit N]   (id is the 0-based image index in the file;
                                                  pixels are the raw 0..255 values)
  load_fashion_mnist.py labels                   COPY text rows: label<TAB>name
  load_fashion_mnist.py ascii [--title A --title B] [--subtitle A2 --subtitle B2]
        reads vector literals ('[0,0,12,...]', 784 values), one per line, on stdin and draws
        them side by side as 14x14 ASCII art.

Set FASHION_MNIST_DIR to read the files from another folder.
"""

import argparse
import gzip
import os
import struct
import sys

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIDE = 28
RAMP = " .:-=+*#%@"


def read_idx(path, expect_ndim):
    """Return (dims, raw bytes) of an unsigned-byte IDX file (gzip-compressed)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or ndim != expect_ndim:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file with {expect_ndim} dimensions")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = memoryview(data)[4 + 4 * ndim:]
    size = 1
    for d in dims:
        size *= d
    if len(body) != size:
        raise SystemExit(f"{path}: expected {size} bytes of data, found {len(body)}")
    return dims, body


def load(split):
    img_file, lab_file = FILES[split]
    (n, rows, cols), pixels = read_idx(os.path.join(DATA_DIR, img_file), 3)
    (m,), labels = read_idx(os.path.join(DATA_DIR, lab_file), 1)
    if n != m or (rows, cols) != (SIDE, SIDE):
        raise SystemExit(f"{split}: {n} images of {rows}x{cols} but {m} labels")
    return n, pixels, labels


def cmd_copy(args):
    n, pixels, labels = load(args.split)
    if args.limit is not None:
        n = min(n, args.limit)
    dim = SIDE * SIDE
    num = [str(i) for i in range(256)]          # byte value -> text, once
    out = sys.stdout
    buf = []
    for i in range(n):
        row = pixels[i * dim:(i + 1) * dim]
        buf.append(f"{i}\t{labels[i]}\t[{','.join(map(num.__getitem__, row))}]\n")
        if len(buf) == 1000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


def cmd_labels(args):
    for i, name in enumerate(LABELS):
        sys.stdout.write(f"{i}\t{name}\n")


def parse_vector(text):
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise SystemExit(f"not a vector literal: {text[:40]}...")
    vals = [float(x) for x in text[1:-1].split(",")]
    if len(vals) != SIDE * SIDE:
        raise SystemExit(f"expected {SIDE * SIDE} values, got {len(vals)}")
    return vals


def render(vals, scale=2):
    """Downsample 28x28 to (28/scale)^2 by averaging, map 0..255 onto RAMP, 2 chars per cell."""
    side = SIDE // scale
    lines = []
    for r in range(side):
        line = []
        for c in range(side):
            s = 0.0
            for dr in range(scale):
                for dc in range(scale):
                    s += vals[(r * scale + dr) * SIDE + c * scale + dc]
            v = min(max(s / (scale * scale), 0.0), 255.0)
            ch = RAMP[min(int(v * len(RAMP) / 256.0), len(RAMP) - 1)]
            line.append(ch * 2)                 # terminal cells are ~2x taller than wide
        lines.append("".join(line))
    return lines


def cmd_ascii(args):
    images = [parse_vector(l) for l in sys.stdin if l.strip()]
    if not images:
        raise SystemExit("ascii: no vectors on stdin")
    blocks = [render(v) for v in images]
    width = len(blocks[0][0])
    for texts in (args.title, args.subtitle):
        if texts:
            texts = (texts + [""] * len(blocks))[:len(blocks)]
            print("   " + "    ".join(f"{t[:width]:<{width}}" for t in texts).rstrip())
    border = "+" + "-" * width + "+"
    print("  " + "  ".join(border for _ in blocks))
    for r in range(len(blocks[0])):
        print("  " + "  ".join("|" + b[r] + "|" for b in blocks))
    print("  " + "  ".join(border for _ in blocks))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("copy", help="COPY rows for one split")
    c.add_argument("split", choices=sorted(FILES))
    c.add_argument("--limit", type=int)
    c.set_defaults(fn=cmd_copy)
    sub.add_parser("labels", help="COPY rows for the label names").set_defaults(fn=cmd_labels)
    a = sub.add_parser("ascii", help="draw vector literals from stdin as ASCII art")
    a.add_argument("--title", action="append", help="a caption above each image, in order")
    a.add_argument("--subtitle", action="append", help="a second caption line")
    a.set_defaults(fn=cmd_ascii)
    args = p.parse_args()
    try:
        args.fn(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader (psql) went away; its own error message says why
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
