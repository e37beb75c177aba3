"""Live rigs: real framework servers started on 127.0.0.1, in their own venvs, stopped by PID.

``live/<framework>/rig.py`` defines each rig as a :class:`Rig` subclass named ``RIG``; this
package holds what every rig shares (see :mod:`.base` for the venv, versions and state file).
"""

from .base import Rig
from .handle import RigError, RigHandle
from .loading import load_rig, rig_metadata
from .processes import free_port, pid_alive, port_is_free, stop_pid, wait_http_ok

__all__ = ["Rig", "RigError", "RigHandle", "free_port", "load_rig", "pid_alive", "port_is_free",
           "rig_metadata", "stop_pid", "wait_http_ok"]
