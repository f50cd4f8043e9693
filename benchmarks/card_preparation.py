"""Card preparation through the PIV client: APDUs and time, over both transports, next to the
bare cryptography of the same preparation measured in the same run.

    /work/main/.venv/bin/python benchmarks/card_preparation.py [--rounds 15] [--skip-pcsc]

A preparation is what tests/cardedge/preparation.py does and a personalization job will:
management-key authentication, PIN and PUK change, 4 key generations, 4 certificates from a
software CA, CHUID, CCC, discovery, key history, printed information, and the read-back of
certificates, CHUID, CCC and discovery. Two key plans: "RSA" (RSA-2048 in 9A, P-256 in 9C and
9E, P-384 in 9D) and "ECC" (P-256 in 9A instead). RSA-2048 key generation takes 15-150 ms
depending on the primes it hits, so the ECC plan is the one that shows the card and transport
overhead clearly.

* emulated: PivClient -> EmulatedTransport -> PivCardEmulator, all in this process;
* pcsc: PivClient -> pyscard -> a private pcscd -> vpcd -> `manage.py emulate_card` (its own
  process), once with its state in a file (saved and fsync'ed after every change, as
  `--state FILE` does) and once with the state in memory (no `--state`);
* bare crypto: the same four key generations, four certificate signatures and the 3DES
  mutual-authentication blocks, with `cryptography` and no card at all.

The blank card is made (emulated) or reset (PC/SC) outside the timed part. Figures are
medians over the rounds, compared as ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

from cardedge.emulator import PivCardEmulator  # noqa: E402
from cardedge.piv import ManagementKeyAlgorithm, Pin, PivClient, Puk  # noqa: E402
from cardedge.piv.algorithms import decrypt_block, encrypt_block  # noqa: E402
from cardedge.piv.constants import KeyAlgorithm, Slot  # noqa: E402
from cardedge.piv.secrets import DEFAULT_MANAGEMENT_KEY_HEX  # noqa: E402
from cardedge.transports.base import CardTransport  # noqa: E402
from cardedge.transports.emulated import EmulatedTransport  # noqa: E402
from tests.cardedge.cards import factory_reset  # noqa: E402
from tests.cardedge.certificates import ThrowawayCa  # noqa: E402
from tests.cardedge.preparation import ECC_SLOT_PLAN, SLOT_PLAN, prepare_card  # noqa: E402

PIN, PUK = Pin("246810"), Puk("13572468")
TDES = ManagementKeyAlgorithm.TDES
Plan = dict[Slot, KeyAlgorithm]
PLANS: dict[str, Plan] = {"RSA": SLOT_PLAN, "ECC": ECC_SLOT_PLAN}


def bare_crypto(ca: ThrowawayCa, plan: Plan) -> None:
    """The cryptographic work of one preparation, without a card."""
    key = bytes.fromhex(DEFAULT_MANAGEMENT_KEY_HEX)
    for block in (os.urandom(8), os.urandom(8)):  # witness and challenge, both sides
        encrypt_block(TDES, key, decrypt_block(TDES, key, block))
    for slot, algorithm in plan.items():
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if algorithm.is_rsa:
            private_key = rsa.generate_private_key(65537, 2048)
        elif algorithm is KeyAlgorithm.ECC_P256:
            private_key = ec.generate_private_key(ec.SECP256R1())
        else:
            private_key = ec.generate_private_key(ec.SECP384R1())
        ca.issue(private_key.public_key(), f"bench {slot.name}")


def timed_preparation(transport: CardTransport, ca: ThrowawayCa, plan: Plan) -> tuple[float, int]:
    """Connect, SELECT, prepare, disconnect: seconds and APDUs."""
    started = time.perf_counter()
    transport.connect()
    client = PivClient.connect(transport)
    prepare_card(client, ca, pin=PIN, puk=PUK, plan=plan)
    transport.disconnect()
    return time.perf_counter() - started, client.apdu_count


def run_rounds(rounds: int, one_round: Callable[[], tuple[float, int]]) -> tuple[list[float], int]:
    times, apdus = [], 0
    for _ in range(rounds):
        elapsed, apdus = one_round()
        times.append(elapsed)
    return times, apdus


def bare_round(ca: ThrowawayCa, plan: Plan) -> tuple[float, int]:
    started = time.perf_counter()
    bare_crypto(ca, plan)
    return time.perf_counter() - started, 0


def round_trip_ms(transport: CardTransport, count: int = 300) -> float:
    """Average time of one short GET DATA (discovery object) exchange."""
    transport.connect()
    client = PivClient.connect(transport)
    started = time.perf_counter()
    for _ in range(count):
        client.channel.send(0xCB, 0x3F, 0xFF, bytes.fromhex("5C017E"), le=256)
    elapsed = time.perf_counter() - started
    transport.disconnect()
    return elapsed / count * 1000


def pcsc_measurements(
    rounds: int, ca: ThrowawayCa
) -> tuple[dict[tuple[str, str], tuple[list[float], int]], dict[str, float]]:
    """Both PC/SC variants on one private pcscd (libpcsclite binds a process to one pcscd)."""
    from cardedge.transports.pcsc import PcscTransport
    from tests.cardedge.pcsc_harness import EmulatorProcess, PcscCardHarness

    results: dict[tuple[str, str], tuple[list[float], int]] = {}
    round_trips: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cardforge-bench-") as workdir:
        harness = PcscCardHarness.start(Path(workdir))
        try:
            harness.bind_this_process()
            transport = PcscTransport(harness.reader_name)

            def one_round(plan: Plan) -> tuple[float, int]:
                transport.connect()
                factory_reset(PivClient.connect(transport))  # a blank card, not timed
                transport.disconnect()
                return timed_preparation(transport, ca, plan)

            for label in ("state file", "state in memory"):
                if label == "state in memory":  # the same reader, another card process
                    harness.emulator.stop()
                    harness.pcscd.wait_for_card(0, present=False)
                    harness.emulator = EmulatorProcess.start(
                        harness.pcscd.vpcd_address(0),
                        state_path=None,
                        log_path=Path(workdir) / "emulator-memory.log",
                    )
                    harness.pcscd.wait_for_card(0)
                for name, plan in PLANS.items():
                    measured = run_rounds(rounds, lambda plan=plan: one_round(plan))
                    results[name, f"PC/SC, emulate_card with {label}"] = measured
                round_trips[f"PC/SC, {label}"] = round_trip_ms(transport)
        finally:
            harness.stop()
    return results, round_trips


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="preparations per path (15)")
    parser.add_argument("--skip-pcsc", action="store_true", help="only the in-process transport")
    args = parser.parse_args()

    ca = ThrowawayCa.create()
    for plan in PLANS.values():  # warm-up: imports and first-use costs
        bare_round(ca, plan)
        timed_preparation(EmulatedTransport(PivCardEmulator()), ca, plan)

    results: dict[tuple[str, str], tuple[list[float], int | None]] = {}
    for name, plan in PLANS.items():
        times, _ = run_rounds(args.rounds, lambda plan=plan: bare_round(ca, plan))
        results[name, "bare cryptography (no card)"] = (times, None)
        results[name, "emulated (in-process)"] = run_rounds(
            args.rounds,
            lambda plan=plan: timed_preparation(EmulatedTransport(PivCardEmulator()), ca, plan),
        )
    round_trips = {"emulated": round_trip_ms(EmulatedTransport(PivCardEmulator()))}
    if not args.skip_pcsc:
        pcsc_results, pcsc_round_trips = pcsc_measurements(args.rounds, ca)
        results.update(pcsc_results)
        round_trips.update(pcsc_round_trips)

    print(
        f"Card preparation, {args.rounds} rounds per line; Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, {os.cpu_count()} CPUs\n"
    )
    print("| keys | path | APDUs | median | min | max | median / bare crypto |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (plan_name, path), (times, apdus) in sorted(
        results.items(), key=lambda item: item[0][0] != "RSA"
    ):
        bare = statistics.median(results[plan_name, "bare cryptography (no card)"][0])
        median, low, high = statistics.median(times), min(times), max(times)
        shown = "-" if apdus is None else str(apdus)
        print(
            f"| {plan_name} | {path} | {shown} | {median * 1000:.1f} ms | {low * 1000:.1f} ms "
            f"| {high * 1000:.1f} ms | {median / bare:.2f} |"
        )
    print()
    for path, milliseconds in round_trips.items():
        print(f"One GET DATA round trip, {path}: {milliseconds:.3f} ms")


if __name__ == "__main__":
    main()
