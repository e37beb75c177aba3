"""Fault injection: a scripted HTTP server on 127.0.0.1 with real sockets."""

from .server import FaultServer, ReceivedRequest, Reply, json_reply

__all__ = ["FaultServer", "ReceivedRequest", "Reply", "json_reply"]
