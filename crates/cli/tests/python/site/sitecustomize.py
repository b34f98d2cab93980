"""Machine workaround, loaded through PYTHONPATH by the tests and `eddy bench hub`.

The Event Hubs SDK's pure-Python AMQP transport reads every TCP option of its
socket and sets it back. On this sandboxed machine the kernel reports TCP_MAXSEG as
32768, above Linux's 32767 limit, so setting it back fails with EINVAL and the SDK
retries for a long time. Ignoring exactly that failure leaves the SDK unchanged.
"""

import errno
import socket

_setsockopt = socket.socket.setsockopt


def _tolerant_setsockopt(self, level, option, value, *rest):
    try:
        return _setsockopt(self, level, option, value, *rest)
    except OSError as e:
        if level == socket.SOL_TCP and option == socket.TCP_MAXSEG and e.errno == errno.EINVAL:
            return None
        raise


socket.socket.setsockopt = _tolerant_setsockopt
