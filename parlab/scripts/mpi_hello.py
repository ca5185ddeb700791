"""Hello from every rank: rank, size and processor name, gathered and printed by rank 0 (lesson 05).

Usage: mpiexec -n 4 python -m mpi4py -m parlab.scripts.mpi_hello [--where]

``--where`` adds each rank's IPv4 interface addresses (loopback left out): the host a rank ran
on, even where several hosts share one name (containers, network namespaces).
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from typing import Any

from parlab.scripts.mpi_common import make_parser, report


def host_addresses() -> list[str]:
    """This machine's IPv4 interface addresses, loopback left out (Linux; elsewhere an empty list)."""
    if not sys.platform.startswith("linux"):
        return []
    import fcntl

    found = []
    siocgifaddr = 0x8915  # <linux/sockios.h>: an interface's IPv4 address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(sock.fileno(), siocgifaddr, struct.pack("256s", name.encode()[:15]))
            except OSError:  # the interface has no IPv4 address
                continue
            address = socket.inet_ntoa(answer[20:24])
            if not address.startswith("127."):
                found.append(address)
    return sorted(found)


def hello(comm: Any, where: bool = False) -> dict[str, Any]:
    """Every rank says who and where it is; rank 0 gets all the answers in rank order."""
    from mpi4py import MPI

    me: dict[str, Any] = {"rank": comm.Get_rank(), "size": comm.Get_size(),
                          "processor": MPI.Get_processor_name(), "pid": os.getpid()}
    if where:
        me["addresses"] = host_addresses()
    # gather, not print: prints from many ranks reach the terminal in any order.
    everyone = comm.gather(me, root=0)
    return {"ranks": everyone, "library": " ".join(MPI.Get_library_version().splitlines()[0].split())}


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, say hello, report from rank 0."""
    parser = make_parser("parlab.scripts.mpi_hello", __doc__.splitlines()[0])
    parser.add_argument("--where", action="store_true",
                        help="add each rank's IPv4 interface addresses (the host it ran on)")
    args = parser.parse_args(argv)
    from mpi4py import MPI

    report(MPI.COMM_WORLD, hello(MPI.COMM_WORLD, args.where))


if __name__ == "__main__":
    main()
