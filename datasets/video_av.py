"""Sparse frame decoding with PyAV: decode only what the asked frames depend on.

The windows of a clip are a few short runs of frames. For each run we seek to the keyframe at or
before it (when that is ahead of where the decoder already is), and on the way to it decode only
reference frames: a non-reference frame (H.264 nal_ref_idc 0, about half of DFDC's) is needed by
no other frame, so skipping it changes no pixel of the frames kept.

Frame index i is the i-th frame in presentation order, i.e. the i-th smallest packet pts, which
is how OpenCV counts. Colour conversion is libswscale's yuv -> bgr24, as in OpenCV's FFmpeg
backend, then BGR -> RGB: the frames are the same bytes cv2 gives for the same indices (checked
by tests/test_video_av.py on the real sample clips).

Anything this reader is not sure of (no pts, discarded packets, a frame count other than the
container's, a decode error, a missing frame) raises NotSparse; video_io then decodes the file
with OpenCV, which also gives the SampleError reasons for bad files.
"""
import bisect
import os

import cv2

try:
    import av
except ImportError:  # optional: without PyAV every read takes the OpenCV path
    av = None


class NotSparse(Exception):
    """This file is left to the OpenCV decoder."""


def _index(stream, container):
    """Presentation-order pts list and the sorted pts of keyframes (one demux pass, no decode)."""
    pts, keys = [], []
    for packet in container.demux(stream):
        if packet.size == 0:  # the flush packet at the end
            continue
        if packet.pts is None or packet.is_discard or packet.is_corrupt:
            raise NotSparse("packet without a usable pts")
        pts.append(packet.pts)
        if packet.is_keyframe:
            keys.append(packet.pts)
    order = sorted(pts)
    if len(set(order)) != len(order):
        raise NotSparse("repeated pts")
    return order, sorted(keys)


def _segments(order, keys, wanted_pts):
    """Runs of wanted pts, each with the keyframe pts to start from (ascending)."""
    segments = []
    for p in sorted(wanted_pts):
        k = bisect.bisect_right(keys, p) - 1
        if k < 0:
            raise NotSparse("a wanted frame comes before the first keyframe")
        key = keys[k]
        if segments and segments[-1][0] == key:
            segments[-1][1].append(p)
        else:
            segments.append((key, [p]))
    return segments


def read_frames_sparse(path, indices, expected_frames=None):
    """Frames at `indices` -> {index: RGB uint8 (H, W, 3)}. Raises NotSparse when unsure."""
    if av is None:
        raise NotSparse("PyAV is not installed")
    try:
        container = av.open(os.fspath(path))
    except Exception as err:  # any file PyAV cannot open goes to OpenCV
        raise NotSparse(f"PyAV cannot open it: {err}") from None
    try:
        return _decode(container, indices, expected_frames)
    except NotSparse:
        raise
    except Exception as err:  # a decode error: OpenCV decides what it means
        raise NotSparse(f"{type(err).__name__}: {err}") from None
    finally:
        container.close()


def _decode(container, indices, expected_frames):
    if not container.streams.video:
        raise NotSparse("no video stream")
    stream = container.streams.video[0]
    order, keys = _index(stream, container)
    if expected_frames is not None and expected_frames > 0 and len(order) != expected_frames:
        raise NotSparse(f"{len(order)} packets, the container says {expected_frames} frames")
    if max(indices) >= len(order):
        raise NotSparse("an index past the last packet")
    by_pts = {order[i]: i for i in set(indices)}
    ctx = stream.codec_context
    ctx.thread_type = "NONE"  # per-packet skip decisions need frame-serial decoding
    found = {}
    reached = None  # largest pts sent to the decoder: past a keyframe, no seek is needed
    for key, wanted in _segments(order, keys, by_pts):
        if reached is None or key > reached:
            ctx.flush_buffers()
            container.seek(key, stream=stream, backward=True)
        for packet in container.demux(stream):
            done = packet.size == 0
            if not done:
                reached = packet.pts if reached is None else max(reached, packet.pts)
                ctx.skip_frame = "DEFAULT" if packet.pts in by_pts else "NONREF"
            for frame in ctx.decode(None if done else packet):
                i = by_pts.get(frame.pts)
                if i is not None and i not in found:
                    found[i] = cv2.cvtColor(frame.to_ndarray(format="bgr24"), cv2.COLOR_BGR2RGB)
            if done or all(by_pts[p] in found for p in wanted):
                break
    if len(found) < len(by_pts):
        raise NotSparse(f"decoded {len(found)} of {len(by_pts)} frames")
    return found
