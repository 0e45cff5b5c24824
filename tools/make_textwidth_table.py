"""Print the advance-width classes used by portal/web/textwidth.py, from DejaVu Sans.

    /tmp/mapenv/bin/pip install fonttools
    /tmp/mapenv/bin/python tools/make_textwidth_table.py \
        /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

Each character of the scripts the portal shows (Latin with the Azerbaijani and Turkish letters,
Cyrillic with the Kazakh letters, common punctuation and spaces) gets DejaVu Sans's advance
width rounded *up* to the next twentieth of an em; characters are grouped by that width. The
output replaces the WIDTH_CLASSES table in portal/web/textwidth.py.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict

from fontTools.ttLib import TTFont

STEP = 20  # classes are multiples of 1/STEP em

RANGES = [
    (0x20, 0x7E),  # ASCII
    (0xA0, 0xFF),  # Latin-1: no-break space, «», accented letters
    (0x100, 0x17F),  # Latin Extended-A: ğ ı ş ç ö ü ...
    (0x18F, 0x18F),  # Ə
    (0x259, 0x259),  # ə
    (0x400, 0x4FF),  # Cyrillic, with Kazakh ә ғ қ ң ө ұ ү һ і
    (0x2010, 0x2027),  # dashes, quotes, bullet, ellipsis
    (0x2009, 0x200A),  # thin and hair space
    (0x202F, 0x202F),  # narrow no-break space (Babel's group separator in some locales)
    (0x2116, 0x2116),  # numero sign
    (0x2190, 0x2193),  # arrows
]


def main(path: str) -> int:
    font = TTFont(path)
    units = font["head"].unitsPerEm
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    classes: dict[int, list[str]] = defaultdict(list)
    for start, end in RANGES:
        for code in range(start, end + 1):
            glyph = cmap.get(code)
            if glyph is None:
                continue
            advance = metrics[glyph][0]
            classes[math.ceil(advance * STEP / units)].append(chr(code))
    print("WIDTH_CLASSES = {")
    for step in sorted(classes):
        chars = "".join(classes[step])
        chunks = [chars[i : i + 40] for i in range(0, len(chars), 40)]
        if len(chunks) == 1:
            print(f"    {step}: {chars!r},")
            continue
        print(f"    {step}: (")
        for chunk in chunks:
            print(f"        {chunk!r}")
        print("    ),")
    print("}")
    hhea = font["hhea"]
    print(f"# ascender {hhea.ascent / units:.3f} em, descender {-hhea.descent / units:.3f} em")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
