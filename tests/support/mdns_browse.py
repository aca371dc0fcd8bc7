#!/usr/bin/env python3
"""Independent DNS-SD browser for the mDNS tests (python-zeroconf, not our code).

Usage: mdns_browse.py <service type, e.g. _rpcxservices._tcp.local.> <seconds>
Browses for the given time, resolves every instance found (SRV, TXT, A/AAAA) and prints one JSON
object: {"added": [...], "removed": [...], "services": [{name, server, port, addresses, txt}]}.
"""
import json
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf


class Collector(ServiceListener):
    def __init__(self) -> None:
        self.added: list[str] = []
        self.removed: list[str] = []

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.added.append(name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.removed.append(name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def main() -> int:
    service_type = sys.argv[1]
    seconds = float(sys.argv[2])
    zc = Zeroconf()
    try:
        collector = Collector()
        browser = ServiceBrowser(zc, service_type, collector)
        time.sleep(seconds)
        services = []
        for name in sorted(set(collector.added) - set(collector.removed)):
            info = zc.get_service_info(service_type, name, timeout=3000)
            if info is None:
                services.append({"name": name, "resolved": False})
                continue
            # Raw TXT RDATA: length-prefixed character-strings.
            txt, raw, i = [], info.text or b"", 0
            while i < len(raw):
                n = raw[i]
                txt.append(raw[i + 1 : i + 1 + n].decode("utf-8", "replace"))
                i += 1 + n
            services.append(
                {
                    "name": name,
                    "resolved": True,
                    "server": info.server,
                    "port": info.port,
                    "addresses": info.parsed_addresses(),
                    "txt": txt,
                }
            )
        browser.cancel()
        print(json.dumps({"added": collector.added, "removed": collector.removed, "services": services}))
    finally:
        zc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
