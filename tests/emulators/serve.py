"""Serve one provider emulator on a loopback port from its own process.

    python -m tests.emulators.serve replicate --job-seconds 10

Prints ``READY <base_url> <api_key>`` once listening, then serves until stopped. Benchmarks use
it so the emulator's work does not compete with the process being measured.
"""

import argparse
import importlib
import signal
import sys
import threading

EMULATORS = {
    "ark": ("tests.emulators.ark", "ArkEmulator"),
    "siraya": ("tests.emulators.siraya", "SirayaEmulator"),
    "acedata": ("tests.emulators.acedata", "AceDataEmulator"),
    "replicate": ("tests.emulators.replicate", "ReplicateEmulator"),
    "fal": ("tests.emulators.fal", "FalEmulator"),
    "scenario": ("tests.emulators.scenario", "ScenarioEmulator"),
    "sinancode": ("tests.emulators.sinancode", "SinanCodeEmulator"),
}
JOB_PROVIDERS = ("replicate", "fal", "scenario", "sinancode")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("provider", choices=sorted(EMULATORS))
    parser.add_argument("--job-seconds", type=float, default=None, help="job providers only")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    arguments = parser.parse_args()

    module_name, class_name = EMULATORS[arguments.provider]
    emulator_class = getattr(importlib.import_module(module_name), class_name)
    options: dict = {"latency_s": arguments.latency}
    if arguments.provider in JOB_PROVIDERS and arguments.job_seconds is not None:
        options["job_seconds"] = arguments.job_seconds
    emulator = emulator_class(**options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with emulator.serve() as base_url:
        print(f"READY {base_url} {emulator.api_key}", flush=True)
        stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
