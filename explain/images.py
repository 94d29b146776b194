"""The report's pictures: strips of face crops and heatmaps, and a source frame with its face box."""
import cv2
import numpy as np

from utils.atomic import atomic_path

TILE = 112        # px per frame in a strip: a 64 px crop is too small to read on a screen
GAP = 2
FRAME_SIDE = 360  # source frames are shown at most this wide and this high (portrait videos too)


def strip(images, tile=TILE):
    """uint8 RGB images (N, S, S, 3) side by side, each resized to tile x tile, white gaps."""
    tiles = [cv2.resize(np.ascontiguousarray(im), (tile, tile), interpolation=cv2.INTER_LINEAR) for im in images]
    out = np.full((tile, len(tiles) * (tile + GAP) - GAP, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        out[:, i * (tile + GAP): i * (tile + GAP) + tile] = t
    return out


def write_image(path, rgb, quality=90):
    """An RGB uint8 image as PNG or JPEG (by suffix), atomically."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, data = cv2.imencode(path.suffix, np.ascontiguousarray(rgb[..., ::-1]), params)
    if not ok:
        raise ValueError(f"cannot encode {path.name}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
    return path


def read_frame(path, index):
    """One RGB frame of a video, or None when it cannot be decoded (the page then says so)."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return None
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))  # one seek per shown window: cheap enough here
        ok, frame = cap.read()
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None
    finally:
        cap.release()


def frame_with_box(frame, box, max_side=FRAME_SIDE):
    """The frame, scaled to fit max_side x max_side, with the face crop region drawn in green."""
    scale = min(1.0, max_side / max(frame.shape[:2]))
    out = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame.copy()
    x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
    thickness = max(2, max(out.shape[:2]) // 240)
    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), thickness)
    return out
