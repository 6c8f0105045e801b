"""Put first on PYTHONPATH by conftest.py: every kernel and subprocess the tests start has no network beyond the
machine itself, like a learner offline (the registries CI installs from are reached before the tests start)."""
import socket

_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", socket.gethostname()}  # torchrun meets on this machine
_getaddrinfo, _create_connection = socket.getaddrinfo, socket.create_connection


def getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL:
        raise socket.gaierror(-3, f"Temporary failure in name resolution (offline test: {host})")
    return _getaddrinfo(host, *args, **kwargs)


def create_connection(address, *args, **kwargs):
    if address[0] not in _LOCAL:
        raise OSError(101, f"Network is unreachable (offline test: {address[0]})")
    return _create_connection(address, *args, **kwargs)


socket.getaddrinfo, socket.create_connection = getaddrinfo, create_connection
