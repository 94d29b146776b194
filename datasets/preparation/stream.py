"""Face crops of many videos, in input order, with decoding and detection overlapped across videos.

Threads in one process, not a process pool: PyAV/OpenCV decoding and torch's detector release the
GIL, so two videos in flight keep two cores busy, and no worker pays the start-up of importing
torch and building MTCNN again (seconds per process, more than a video takes).
"""
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import cv2
import torch

from datasets.preparation.faces import extract_faces
from utils.errors import SampleError


def default_workers():
    return max(1, min(2, os.cpu_count() or 1))


@contextmanager
def cores_shared_by(workers):
    """Each of `workers` concurrent videos gets its share of the cores for torch and OpenCV."""
    before = torch.get_num_threads(), cv2.getNumThreads()
    share = max(1, (os.cpu_count() or 1) // max(int(workers), 1))
    torch.set_num_threads(share)
    cv2.setNumThreads(share)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


def iter_extract_faces(paths, n_windows, window_len, workers=None, **kwargs):
    """Yield (index, FaceCrops or SampleError) for each of `paths`, in input order.

    Takes extract_faces's arguments (size, detector, device, margin, ...). At most
    2 * workers videos are decoded ahead, so memory stays bounded on long lists. A bad video
    yields its SampleError (an unexpected exception becomes "unreadable"); nothing is raised.
    """
    workers = int(workers or default_workers())

    def one(path):
        try:
            return extract_faces(path, n_windows, window_len, **kwargs)
        except SampleError as err:
            return err
        except Exception as err:  # a decoder/detector bug on one odd file must not end the list
            return SampleError("unreadable", f"{path}: unexpected {type(err).__name__}: {err}")

    paths = iter(enumerate(paths))
    with cores_shared_by(workers), ThreadPoolExecutor(workers) as pool:
        pending = deque()
        for index, path in paths:
            pending.append((index, pool.submit(one, path)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            index, future = pending.popleft()
            result = future.result()
            nxt = next(paths, None)
            if nxt is not None:
                pending.append((nxt[0], pool.submit(one, nxt[1])))
            yield index, result
