"""Run ``carbon-ticket bench`` with a what-if ``AwardPoints`` rule in every validator (issue 19).

    PYTHONPATH=$PWD/tests/node/whatif_site:$PWD CT_AWARD_WHATIF=folded-no-events \\
        carbon-ticket bench --workload points --validators 4 --duration 20 --accounts 2000 --json

Python imports ``sitecustomize`` at start-up in every process that has this folder on its path,
so the bench's validator processes (which inherit the environment) execute awards with
``tests.node.microbench_award_whatif``'s variant (``folded`` or ``folded-no-events``) instead of
the ledger's rule (the report's ``node_cpu_us_per_award`` falls by a third or more when it took).
A measurement aid, never a way to run a node: blocks made so are not the ledger's.
"""

import os

_VARIANT = os.environ.get("CT_AWARD_WHATIF", "")
if _VARIANT:
    from tests.node.microbench_award_whatif import install

    install(_VARIANT)
