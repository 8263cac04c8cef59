"""What the wallet KDF costs a measurement tool's devnet: the default cost against THROWAWAY_KDF.

    python -m tests.cli.tools.microbench_rig_kdf [--validators 4] [--rounds 3]

Does what ``carbon-ticket bench``, ``chaos`` and ``abuse`` do with their devnet's wallet before
any load: ``init_devnet`` (one key per demo role and per validator's operator, each written
through Argon2id) and the three unlocks of the load's keys (registrar, issuer, verifier), once
at ``DEFAULT_KDF`` and once at ``THROWAWAY_KDF``, alternating, ``--rounds`` times. Prints the CPU
seconds (this process) and wall seconds of each. Figures are printed, never judged.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from carbon_ticket.cli.keystore import DEFAULT_KDF, THROWAWAY_KDF, KdfCost, Keystore
from carbon_ticket.cli.tools.devnet import free_base_port, init_devnet

_LOAD_KEYS = ("registrar", "issuer", "verifier")


def _one(kdf: KdfCost, validators: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="rig-kdf-") as root:
        cpu, wall = time.process_time(), time.perf_counter()
        info = init_devnet(Path(root) / "devnet", validators, free_base_port(validators),
                           wallet_kdf=kdf)  # fmt: skip
        init_cpu, init_wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        keys = Keystore(info.wallet_dir)
        for name in _LOAD_KEYS:
            keys.load(name, info.wallet_password)
        return {
            "init_cpu_s": round(init_cpu, 3),
            "init_wall_s": round(init_wall, 3),
            "unlock_cpu_s": round(time.process_time() - cpu, 3),
            "unlock_wall_s": round(time.perf_counter() - wall, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for round_ in range(args.rounds):
        for name, kdf in (("default", DEFAULT_KDF), ("throwaway", THROWAWAY_KDF)):
            figures = _one(kdf, args.validators)
            print(json.dumps({"round": round_ + 1, "kdf": name, **figures}))


if __name__ == "__main__":
    main()
