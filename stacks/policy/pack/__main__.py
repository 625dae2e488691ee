"""The pulumi-policy entry point: `pulumi preview --policy-pack stacks/policy/pack` runs this file.

PolicyPack starts the policy server and blocks, so nothing but this file constructs it; the
policies themselves live in helixflow.stacks.policy.pulumi_pack, importable and tested.
"""

from pulumi_policy import PolicyPack

from helixflow.stacks.policy.pulumi_pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies())
