"""Lead side-marker letters drawn into test films."""

from __future__ import annotations

import numpy as np


def lead_letter(text: str, height_px: int) -> np.ndarray:
    """``text`` about ``height_px`` high in a font the marker reader's templates do not use
    (DejaVu Serif, regular), as a 0-1 mask."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Serif"))
    font = ImageFont.truetype(path, int(height_px * 1.35))
    img = Image.new("L", (height_px * 3 * max(1, len(text)), height_px * 3), 0)
    ImageDraw.Draw(img).text((height_px // 2, height_px // 2), text, fill=255, font=font)
    return np.asarray(img, np.float32) / 255.0
