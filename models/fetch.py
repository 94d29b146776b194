"""Around a library's own download of pretrained weights: fail fast offline, leave no partial file.

The libraries (torch.hub for torchvision and timm's URL weights, huggingface_hub for timm's hub
weights) read their cache first and download into it otherwise. Offline they can wait a long
time (an unanswered connect, a slow DNS), so before any download we try one TCP connection to
the download host, bounded by CONNECT_TIMEOUT_S in total (DNS included), and stop with one line
naming the file, the folder and the flag for a local file when it does not answer.
"""
import socket
import threading
import urllib.request
from contextlib import contextmanager
from urllib.parse import urlparse

from utils.errors import UserError

CONNECT_TIMEOUT_S = 3.0  # the whole reachability check, name lookup included
READ_TIMEOUT_S = 30.0  # a download that stalls this long is abandoned
PARTIAL_SUFFIXES = (".partial", ".incomplete")  # torch.hub's and huggingface_hub's in-progress files


def _endpoint(url):
    """(host, port) a download of `url` first connects to: the HTTPS proxy when one is set."""
    target = urlparse(url)
    proxy = urllib.request.getproxies().get(target.scheme)
    if proxy and not urllib.request.proxy_bypass(target.hostname or ""):
        target = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    port = target.port or (443 if target.scheme == "https" else 80)
    return target.hostname, port


def reachable(url, timeout=CONNECT_TIMEOUT_S):
    """True when a TCP connection to the download host of `url` opens within `timeout` seconds."""
    host, port = _endpoint(url)
    answered = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answered.append(True)
        except OSError:
            pass

    # in a thread: getaddrinfo has no timeout of its own and can block for tens of seconds
    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answered)


def fix_hint(pretrained_flag=True):
    return ("or give a local file with --backbone_weights PATH"
            + (", or run with --pretrained False" if pretrained_flag else ""))


def require_download(what, filename, folder, url):
    """Raise the one-line offline error unless the host serving `url` answers."""
    if not reachable(url):
        raise UserError(f"{what}: {filename} is not in {folder} and {_endpoint(url)[0]} does not answer "
                        f"(offline?); copy it there (from {url}), {fix_hint()}")


def _partials(folder):
    if not folder.is_dir():
        return set()
    return {p for p in folder.rglob("*") if p.name.endswith(PARTIAL_SUFFIXES)}


@contextmanager
def downloading(what, filename, folder, url):
    """Around the library call that downloads `filename` into `folder`: a read timeout, a one-line
    error on failure, and no partial file left behind (torch.hub and huggingface_hub >= 1.0 remove
    theirs; older huggingface_hub kept `.incomplete` files to resume, which we do not want)."""
    before = _partials(folder)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(READ_TIMEOUT_S)  # urllib (torch.hub) reads with no timeout otherwise
    try:
        yield
    except UserError:
        raise
    except Exception as err:  # network, HTTP or disk errors: all end the same way for the user
        for partial in _partials(folder) - before:
            partial.unlink(missing_ok=True)
        raise UserError(f"{what}: downloading {filename} into {folder} failed ({type(err).__name__}: "
                        f"{str(err).splitlines()[0][:120] if str(err) else 'no detail'}); copy it there "
                        f"(from {url}), {fix_hint()}") from None
    finally:
        socket.setdefaulttimeout(previous)
